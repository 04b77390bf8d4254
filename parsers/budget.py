"""Read the budget (XLSX, XLSM, XLS, ODS): defined names first, then labels in column A.

Pure: bytes, the detected type (``parsers.filetype.detect``) and the field map
in; a :class:`BudgetReading` out. Never raises. ``parsers.workbooks`` loads the
file into one model whatever its format; this module reads the lines from it.

Stable API::

    read_budget(data: bytes, detected_type: str, fieldmap: FieldMap, *, max_cells: int,
                sizes: SizeLimits = DEFAULT) -> BudgetReading
    BudgetReading.lines       # [{"key", "line", "hours", "rate", "share", "amount", "source", "sources"}]
    BudgetReading.total       # "1012497.75" | None
    BudgetReading.total_source
    BudgetReading.recomputed  # ["salary_2026.amount", "total", ...]
    BudgetReading.problems    # [{"code", "field", "params"}]
    BudgetReading.method      # "names" | "labels" | "mixed" | None
    BudgetReading.as_dict()   # the Submission.budget shape of docs/contracts.md ({} if unreadable)

Numbers are decimal strings (amounts and rates with two decimals), never floats;
a value that could not be read is ``None``. ``source`` of a line is where its
amount came from; ``sources`` has one entry per value (``cell Budget!E5 (name
salary_2026_amount)``, ``cell Budget!C7 (label 'Løn 2026')``, ``computed from
Budget!B5*C5*D5``).

Problem codes and their params (Danish texts live in config/problems.da.toml):

=========================  ======================  ==========================================
code                       field                   params
=========================  ======================  ==========================================
budget_encrypted           None                    {}  (password-protected Office file)
budget_is_pdf              None                    {}  (a budget sent as PDF: a person reads it)
budget_unsupported         None                    {"type": detected type, or "xlsb"}
budget_corrupt             None                    {"error": exception class name}
budget_too_many_cells      None                    {"cells": int, "max_cells": int}  (counted in
                                                    the XML before the sheet is built)
budget_unpacks_too_large   None                    {"size": Danish size, "limit": Danish size}
                                                    (a part, or the whole, unpacked: a zip bomb)
budget_packed_too_tightly  None                    {"ratio": int, "max_ratio": int}
budget_too_many_parts      None                    {"parts": int, "max_parts": int}
budget_not_recognised      None                    {}  (none of the budget lines found)
budget_line_missing        line key                {"line": label}
budget_value_missing       "<line>.<part>"         {"line": label, "column": part, "cell": ref}
budget_value_malformed     "<line>.<part>"         {"line": label, "column": part, "cell": ref,
                                                    "raw": str, "reason": str}
=========================  ======================  ==========================================

``part`` is one of ``hours``, ``rate``, ``share``, ``amount``; the total's field
is ``total.amount``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from parsers import danish, filetype, normalize
from parsers.codes import Finding, ProblemCode, finding
from parsers.fieldmap import BudgetLine, BudgetMap, FieldMap
from parsers.limits import DEFAULT, SizeLimits, TooLarge
from parsers.workbooks import (
    LOADERS,
    Book,
    Cell,
    Sheet,
    TooManyCells,
    Unsupported,
    cell_ref,
    col_index,
)

_CENT = Decimal("0.01")


@dataclass
class BudgetReading:
    """What the budget says, with problems found while reading it."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    total: str | None = None
    total_source: str | None = None
    recomputed: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    method: str | None = None

    def problem(self, code: ProblemCode, field: str | None = None, **params: Any) -> None:
        """Record a problem."""
        self.problems.append(finding(code, field, **params))

    def as_dict(self) -> dict[str, Any]:
        """The ``Submission.budget`` JSON of docs/contracts.md; ``{}`` when nothing was read."""
        if not self.lines and self.total is None:
            return {}
        return {"lines": self.lines, "total": self.total, "total_source": self.total_source,
                "recomputed": list(self.recomputed)}


# --- entry point -------------------------------------------------------------------


def read_budget(data: bytes, detected_type: str, fieldmap: FieldMap, *, max_cells: int,
                sizes: SizeLimits = DEFAULT) -> BudgetReading:
    """Read the budget lines and total; every problem is recorded, nothing raises.

    Sizes are checked before the spreadsheet is built (``sizes``, ``max_cells``)."""
    reading = BudgetReading()
    if detected_type == filetype.OFFICE_ENCRYPTED:
        reading.problem(ProblemCode.BUDGET_ENCRYPTED)
        return reading
    if detected_type == filetype.PDF:
        reading.problem(ProblemCode.BUDGET_IS_PDF)
        return reading
    loader = LOADERS.get(detected_type)
    if loader is None:
        reading.problem(ProblemCode.BUDGET_UNSUPPORTED, type=detected_type)
        return reading
    try:
        book = loader(data, max_cells, sizes)
    except TooManyCells as exc:
        reading.problem(ProblemCode.BUDGET_TOO_MANY_CELLS, cells=exc.cells, max_cells=max_cells)
        return reading
    except TooLarge as exc:
        _too_large(reading, exc)
        return reading
    except Unsupported as exc:
        reading.problem(ProblemCode.BUDGET_UNSUPPORTED, type=str(exc))
        return reading
    except MemoryError:  # the reading process's limit, not a broken file: the worker says so
        raise
    except Exception as exc:  # any library error on a broken file is "corrupt"
        reading.problem(ProblemCode.BUDGET_CORRUPT, error=type(exc).__name__)
        return reading
    try:
        _extract(book, fieldmap.budget, reading)
    except MemoryError:  # the reading process's limit, not a broken file: the worker says so
        raise
    except Exception as exc:  # a shape we did not foresee: say so, never crash the intake
        reading.lines, reading.total, reading.total_source, reading.recomputed = [], None, None, []
        reading.problem(ProblemCode.BUDGET_CORRUPT, error=type(exc).__name__)
    return reading


def _too_large(reading: BudgetReading, exc: TooLarge) -> None:
    """The problem for a spreadsheet refused at a size limit, in the terms of what was measured."""
    if exc.what == "ratio":
        reading.problem(ProblemCode.BUDGET_PACKED_TOO_TIGHTLY, ratio=exc.size, max_ratio=exc.limit)
    elif exc.what == "members":
        reading.problem(ProblemCode.BUDGET_TOO_MANY_PARTS, parts=exc.size, max_parts=exc.limit)
    else:
        reading.problem(ProblemCode.BUDGET_UNPACKS_TOO_LARGE, size=danish.size_da(exc.size),
                        limit=danish.size_da(exc.limit))


# --- extraction from the common model -------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _same_label(cell: Cell | None, label: str) -> bool:
    if cell is None or not isinstance(cell.value, str):
        return False
    return danish.fold_compact(cell.value.strip().rstrip(":")) == danish.fold_compact(label)


def _pick_sheet(book: Book, bm: BudgetMap) -> Sheet | None:
    for sheet in book.sheets:
        if sheet.name.casefold() == bm.sheet.casefold():
            return sheet
    labels = [line.label for line in (*bm.lines, bm.total)]
    for sheet in book.sheets:
        if any(_same_label(c, lab) for c in sheet.cells.values() for lab in labels):
            return sheet
    return book.sheets[0] if book.sheets else None


def _find_label_row(sheet: Sheet, label: str, label_col: int) -> int | None:
    """The row whose label column holds ``label``; other columns only if column A has none."""
    rows = sorted(r for (r, c), cell in sheet.cells.items() if c == label_col and _same_label(cell, label))
    if rows:
        return rows[0]
    rows = sorted(r for (r, c), cell in sheet.cells.items() if _same_label(cell, label))
    return rows[0] if rows else None


def _header_columns(sheet: Sheet, bm: BudgetMap) -> dict[str, int]:
    """Columns by their header text where a header row exists, else the map's columns."""
    cols = {part: col_index(letter) for part, letter in bm.columns.items()}
    heads = {part: danish.fold_compact(bm.headers[part].split()[0]) for part in cols}
    rows: dict[int, dict[str, int]] = {}
    for (r, c), cell in sheet.cells.items():
        if isinstance(cell.value, str):
            text = danish.fold_compact(cell.value)
            for part, head in heads.items():
                if head and text.startswith(head):
                    rows.setdefault(r, {})[part] = c
    best = max(rows.values(), key=len, default={})
    if len(best) >= 2:
        cols.update(best)
    return cols


def _to_decimal(value: Any, part: str) -> Decimal:
    """A cell value as Decimal; text in Danish notation is parsed; raises ValueError."""
    if isinstance(value, bool) or isinstance(value, dt.datetime | dt.date | dt.time):
        raise ValueError("not a number")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a number")
        if isinstance(value, int):
            return Decimal(value)
        number = Decimal(repr(value))
        exponent = number.as_tuple().exponent  # an int: the float is finite
        if isinstance(exponent, int) and exponent < -6:  # binary float noise such as 0.30000000000000004
            number = number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize()
        return number
    text = _text(value).strip()
    if text.startswith("#"):
        raise ValueError(f"spreadsheet error {text[:20]}")
    if part == "share":
        return normalize.share(text)
    if part == "amount":
        return normalize.money_decimal(text)
    return danish.parse_number(text)


def _fmt(part: str, value: Decimal | None) -> str | None:
    if value is None:
        return None
    if part in ("amount", "rate"):
        return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))
    if part == "share":
        return str(normalize.share_places(value))
    text = format(value.normalize(), "f")
    return text


@dataclass
class _Found:
    key: str
    label: str
    positions: dict[str, tuple[int, int]]  # part -> (row, col)
    origin: dict[str, str]  # part -> "name x" | "label"


def _locate(sheet: Sheet, book: Book, bm: BudgetMap, line: BudgetLine, cols: dict[str, int]) -> _Found | None:
    """Where the line's cells are: by defined names if they still point at the line's row,
    else by the label in the label column."""
    label_col = col_index(bm.label_column)
    label_row = _find_label_row(sheet, line.label, label_col)
    by_name: dict[str, tuple[int, int]] = {}
    for part, name in line.names.items():
        target = book.names.get(name.lower())
        if target and target[0].casefold() == sheet.name.casefold():
            by_name[part] = (target[1], target[2])
    if len(by_name) == len(line.names):
        rows = {r for r, _ in by_name.values()}
        # Names written by a program that inserted rows can be stale: trust them only
        # when they point at the row that carries the line's label (or no label is found).
        if label_row is None or rows == {label_row}:
            return _Found(line.key, line.label, by_name, {p: f"name {line.names[p]}" for p in by_name})
    if label_row is None:
        return None
    positions = {part: (label_row, cols[part]) for part in line.names}
    return _Found(line.key, line.label, positions, dict.fromkeys(positions, "label"))


def _source(sheet: Sheet, pos: tuple[int, int], origin: str, label: str) -> str:
    where = f"cell {sheet.name}!{cell_ref(*pos)}"
    return f"{where} ({origin})" if origin != "label" else f"{where} (label '{label}')"


def _read_value(sheet: Sheet, found: _Found, part: str, reading: BudgetReading
                ) -> tuple[Decimal | None, str, bool]:
    """(value, source, needs_recompute) of one cell."""
    pos = found.positions[part]
    cell = sheet.cells.get(pos)
    source = _source(sheet, pos, found.origin[part], found.label)
    field_name = f"{found.key}.{part}"
    params = {"line": found.label, "column": part, "cell": f"{sheet.name}!{cell_ref(*pos)}"}
    if cell is None or (cell.value is None and not cell.formula) or _text(cell.value).strip() == "":
        if cell is not None and cell.formula:
            return None, source, True
        reading.problem(ProblemCode.BUDGET_VALUE_MISSING, field_name, **params)
        return None, source, False
    if cell.formula and (cell.value is None or _text(cell.value).startswith("#")):
        return None, source, True  # no cached value, or an error the inputs caused: compute it
    try:
        return _to_decimal(cell.value, part), source, False
    except (ValueError, InvalidOperation, ArithmeticError) as exc:
        reading.problem(ProblemCode.BUDGET_VALUE_MALFORMED, field_name, raw=_text(cell.value)[:200],
                        reason=str(exc), **params)
        return None, source, False


def _extract(book: Book, bm: BudgetMap, reading: BudgetReading) -> None:
    sheet = _pick_sheet(book, bm)
    if sheet is None:
        reading.problem(ProblemCode.BUDGET_NOT_RECOGNISED)
        return
    cols = _header_columns(sheet, bm)
    origins: set[str] = set()
    amounts: list[Decimal | None] = []
    amount_refs: list[str] = []
    found_any = False
    for line in bm.lines:
        found = _locate(sheet, book, bm, line, cols)
        if found is None:
            reading.problem(ProblemCode.BUDGET_LINE_MISSING, line.key, line=line.label)
            amounts.append(None)
            reading.lines.append({"key": line.key, "line": line.label, "hours": None, "rate": None,
                                  "share": None, "amount": None, "source": None, "sources": {}})
            continue
        found_any = True
        origins.update("names" if o != "label" else "labels" for o in found.origin.values())
        values: dict[str, Decimal | None] = {}
        sources: dict[str, str] = {}
        recompute = False
        for part in line.names:
            value, source, needs = _read_value(sheet, found, part, reading)
            values[part], sources[part] = value, source
            if needs and part != "amount":  # an input given as a formula we cannot evaluate
                pos = found.positions[part]
                reading.problem(ProblemCode.BUDGET_VALUE_MISSING, f"{line.key}.{part}", line=line.label,
                                column=part, cell=f"{sheet.name}!{cell_ref(*pos)}")
            recompute = recompute or (needs and part == "amount")
        if recompute:
            h, r, s = values.get("hours"), values.get("rate"), values.get("share")
            if h is not None and r is not None and s is not None \
                    and {"hours", "rate", "share"} <= set(line.names):
                values["amount"] = (h * r * s).quantize(_CENT, rounding=ROUND_HALF_UP)
                refs = "*".join(cell_ref(*found.positions[p]) for p in ("hours", "rate", "share"))
                sources["amount"] = f"computed from {sheet.name}!{refs}"
                reading.recomputed.append(f"{line.key}.amount")
            else:
                pos = found.positions["amount"]
                reading.problem(ProblemCode.BUDGET_VALUE_MISSING, f"{line.key}.amount", line=line.label,
                                column="amount", cell=f"{sheet.name}!{cell_ref(*pos)}")
        amounts.append(values.get("amount"))
        amount_refs.append(cell_ref(*found.positions["amount"]))
        entry: dict[str, Any] = {"key": line.key, "line": line.label}
        for part in ("hours", "rate", "share", "amount"):
            entry[part] = _fmt(part, values.get(part))
        entry["source"] = sources.get("amount")
        entry["sources"] = sources
        reading.lines.append(entry)

    total_line = bm.total
    found = _locate(sheet, book, bm, total_line, cols)
    if found is None:
        if found_any:
            reading.problem(ProblemCode.BUDGET_LINE_MISSING, total_line.key, line=total_line.label)
    else:
        found_any = True
        origins.update("names" if o != "label" else "labels" for o in found.origin.values())
        value, source, needs = _read_value(sheet, found, "amount", reading)
        if needs:
            known = [a for a in amounts if a is not None]
            if len(known) == len(amounts):
                value = sum(known, Decimal(0)).quantize(_CENT)
                source = f"computed from {sheet.name}!{'+'.join(amount_refs)}"
                reading.recomputed.append(f"{total_line.key}.amount")
            else:
                pos = found.positions["amount"]
                reading.problem(ProblemCode.BUDGET_VALUE_MISSING, f"{total_line.key}.amount", line=total_line.label,
                                column="amount", cell=f"{sheet.name}!{cell_ref(*pos)}")
        reading.total = _fmt("amount", value)
        reading.total_source = source
    if not found_any:
        reading.lines = []
        reading.problems = [p for p in reading.problems if p["code"] != ProblemCode.BUDGET_LINE_MISSING]
        reading.problem(ProblemCode.BUDGET_NOT_RECOGNISED)
        return
    reading.method = "mixed" if len(origins) > 1 else origins.pop() if origins else None
