"""Read the budget (XLSX, XLSM, XLS, ODS): defined names first, then labels in column A.

Pure: bytes, the detected type (``parsers.filetype.detect``) and the field map
in; a :class:`BudgetReading` out. Never raises.

Stable API::

    read_budget(data: bytes, detected_type: str, fieldmap: FieldMap, *, max_cells: int) -> BudgetReading
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
budget_too_many_cells      None                    {"cells": int, "max_cells": int}
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
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from parsers import danish, filetype, normalize
from parsers.codes import Finding, ProblemCode, finding
from parsers.fieldmap import BudgetLine, BudgetMap, FieldMap

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


# --- a small common model of a workbook ------------------------------------------


@dataclass
class _Cell:
    value: Any  # None, int, float, str, bool, datetime (cached value for formulas)
    formula: str | None = None


@dataclass
class _Sheet:
    name: str
    cells: dict[tuple[int, int], _Cell]  # (row, col), both 1-based


@dataclass
class _Book:
    sheets: list[_Sheet]
    names: dict[str, tuple[str, int, int]]  # defined name (lower case) -> (sheet, row, col)


class _TooManyCells(Exception):
    def __init__(self, cells: int):
        super().__init__(cells)
        self.cells = cells


def _col_letter(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _ref(row: int, col: int) -> str:
    return f"{_col_letter(col)}{row}"


_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def _parse_ref(ref: str) -> tuple[int, int] | None:
    m = _CELL_REF.match(ref.strip())
    return (int(m[2]), _col_index(m[1])) if m else None


# --- loaders -----------------------------------------------------------------------


class _Unsupported(Exception):
    """A format we recognise but cannot read (e.g. Excel's binary .xlsb)."""


def _load_xlsx(data: bytes, max_cells: int) -> _Book:
    from openpyxl import load_workbook

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if "xl/workbook.bin" in zf.namelist():  # .xlsb looks like .xlsx from outside
            raise _Unsupported("xlsb")

    # Count first, streaming, so a huge sheet is refused before it is built in memory.
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        count = 0
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                count += sum(v is not None for v in row)
                if count > max_cells:
                    raise _TooManyCells(count)
    finally:
        wb.close()

    values = load_workbook(io.BytesIO(data), data_only=True)
    formulas = load_workbook(io.BytesIO(data), data_only=False)
    sheets = []
    for ws in values.worksheets:
        fws = formulas[ws.title]
        cells: dict[tuple[int, int], _Cell] = {}
        for row in fws.iter_rows():
            for fcell in row:
                raw = fcell.value
                if raw is None:
                    continue
                formula = None
                if isinstance(raw, str) and raw.startswith("="):
                    formula = raw
                elif type(raw).__name__ in ("ArrayFormula", "DataTableFormula"):
                    formula = str(getattr(raw, "text", raw))
                cached = ws.cell(row=fcell.row, column=fcell.column).value
                cells[(fcell.row, fcell.column)] = _Cell(cached, formula)
        sheets.append(_Sheet(ws.title, cells))

    names: dict[str, tuple[str, int, int]] = {}

    def add(name: str, dn) -> None:
        try:
            dests = list(dn.destinations)
        except Exception:  # a name that is not a cell range (a constant, a formula)
            return
        if len(dests) == 1:
            sheet, ref = dests[0]
            pos = _parse_ref(ref)
            if pos:
                names[name.lower()] = (sheet, *pos)

    for name, dn in values.defined_names.items():
        add(name, dn)
    for ws in values.worksheets:
        for name, dn in getattr(ws, "defined_names", {}).items():
            add(name, dn)
    return _Book(sheets, names)


def _load_xls(data: bytes, max_cells: int) -> _Book:
    import xlrd

    book = xlrd.open_workbook(file_contents=data, on_demand=True)
    try:
        sheets = []
        count = 0
        for index in range(book.nsheets):
            sh = book.sheet_by_index(index)
            cells: dict[tuple[int, int], _Cell] = {}
            for r in range(sh.nrows):
                for c in range(sh.ncols):
                    ctype = sh.cell_type(r, c)
                    if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        continue
                    count += 1
                    if count > max_cells:
                        raise _TooManyCells(count)
                    value = sh.cell_value(r, c)
                    if ctype == xlrd.XL_CELL_ERROR:
                        value = "#ERROR"
                    elif ctype == xlrd.XL_CELL_BOOLEAN:
                        value = bool(value)
                    cells[(r + 1, c + 1)] = _Cell(value)
            sheets.append(_Sheet(sh.name, cells))
            book.unload_sheet(index)
        names: dict[str, tuple[str, int, int]] = {}
        for nobj in book.name_obj_list:
            try:
                sheet, rlo, rhi, clo, chi = nobj.area2d(clipped=True)
            except Exception:  # not a plain cell range
                continue
            if rhi - rlo == 1 and chi - clo == 1:
                names[nobj.name.lower()] = (sheet.name, rlo + 1, clo + 1)
        return _Book(sheets, names)
    finally:
        book.release_resources()


_ODS_CAP = 10_000  # repeated columns/rows beyond this are padding, not content


def _load_ods(data: bytes, max_cells: int) -> _Book:
    from odf import teletype
    from odf.namespaces import OFFICENS, TABLENS
    from odf.opendocument import load
    from odf.table import NamedRange, Table, TableRow

    # odfpy builds the whole document in memory: refuse an oversized content.xml first
    # (about 100 bytes of XML per filled cell is generous).
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        size = sum(i.file_size for i in zf.infolist() if i.filename == "content.xml")
    if size > 100 * max_cells + 1_000_000:
        raise _TooManyCells(size // 100)
    doc = load(io.BytesIO(data))

    def attr(el, ns, name):
        return el.attributes.get((ns, name))

    sheets = []
    count = 0
    for table in doc.spreadsheet.getElementsByType(Table):
        cells: dict[tuple[int, int], _Cell] = {}
        r = 0
        for row in table.getElementsByType(TableRow):
            rrep = min(int(attr(row, TABLENS, "number-rows-repeated") or 1), _ODS_CAP)
            c = 0
            row_cells = []
            for cell in row.childNodes:
                if cell.qname[1] not in ("table-cell", "covered-table-cell"):
                    continue
                crep = min(int(attr(cell, TABLENS, "number-columns-repeated") or 1), _ODS_CAP)
                vtype = attr(cell, OFFICENS, "value-type")
                formula = attr(cell, TABLENS, "formula")
                value: Any = None
                if vtype in ("float", "percentage", "currency"):
                    raw = attr(cell, OFFICENS, "value")
                    value = float(raw) if raw is not None else None
                elif vtype == "boolean":
                    value = attr(cell, OFFICENS, "boolean-value") == "true"
                elif vtype in ("date", "time"):
                    value = attr(cell, OFFICENS, "date-value") or attr(cell, OFFICENS, "time-value")
                else:
                    value = teletype.extractText(cell) or None
                if value is not None or formula:
                    row_cells.append((c, crep, _Cell(value, formula)))
                c += crep
            for offset in range(rrep if row_cells else 0):
                for col, crep, cell_obj in row_cells:
                    for k in range(crep):
                        count += 1
                        if count > max_cells:
                            raise _TooManyCells(count)
                        cells[(r + offset + 1, col + k + 1)] = cell_obj
            r += rrep
        sheets.append(_Sheet(str(attr(table, TABLENS, "name") or f"Sheet{len(sheets) + 1}"), cells))

    names: dict[str, tuple[str, int, int]] = {}
    for nr in doc.getElementsByType(NamedRange):
        address = str(attr(nr, TABLENS, "cell-range-address") or "")
        m = re.fullmatch(r"\$?'?([^.']+)'?\.\$?([A-Za-z]{1,3})\$?([0-9]+)", address)
        if m:
            names[str(attr(nr, TABLENS, "name")).lower()] = (m[1], int(m[3]), _col_index(m[2]))
    return _Book(sheets, names)


# --- entry point -------------------------------------------------------------------


def read_budget(data: bytes, detected_type: str, fieldmap: FieldMap, *, max_cells: int) -> BudgetReading:
    """Read the budget lines and total; every problem is recorded, nothing raises."""
    reading = BudgetReading()
    if detected_type == filetype.OFFICE_ENCRYPTED:
        reading.problem(ProblemCode.BUDGET_ENCRYPTED)
        return reading
    if detected_type == filetype.PDF:
        reading.problem(ProblemCode.BUDGET_IS_PDF)
        return reading
    loaders = {filetype.XLSX: _load_xlsx, filetype.XLSM: _load_xlsx, filetype.XLS: _load_xls,
               filetype.ODS: _load_ods}
    loader = loaders.get(detected_type)
    if loader is None:
        reading.problem(ProblemCode.BUDGET_UNSUPPORTED, type=detected_type)
        return reading
    try:
        book = loader(data, max_cells)
    except _TooManyCells as exc:
        reading.problem(ProblemCode.BUDGET_TOO_MANY_CELLS, cells=exc.cells, max_cells=max_cells)
        return reading
    except _Unsupported as exc:
        reading.problem(ProblemCode.BUDGET_UNSUPPORTED, type=str(exc))
        return reading
    except Exception as exc:  # any library error on a broken file is "corrupt"
        reading.problem(ProblemCode.BUDGET_CORRUPT, error=type(exc).__name__)
        return reading
    try:
        _extract(book, fieldmap.budget, reading)
    except Exception as exc:  # a shape we did not foresee: say so, never crash the intake
        reading.lines, reading.total, reading.total_source, reading.recomputed = [], None, None, []
        reading.problem(ProblemCode.BUDGET_CORRUPT, error=type(exc).__name__)
    return reading


# --- extraction from the common model -------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _same_label(cell: _Cell | None, label: str) -> bool:
    if cell is None or not isinstance(cell.value, str):
        return False
    return danish.fold_compact(cell.value.strip().rstrip(":")) == danish.fold_compact(label)


def _pick_sheet(book: _Book, bm: BudgetMap) -> _Sheet | None:
    for sheet in book.sheets:
        if sheet.name.casefold() == bm.sheet.casefold():
            return sheet
    labels = [line.label for line in (*bm.lines, bm.total)]
    for sheet in book.sheets:
        if any(_same_label(c, lab) for c in sheet.cells.values() for lab in labels):
            return sheet
    return book.sheets[0] if book.sheets else None


def _find_label_row(sheet: _Sheet, label: str, label_col: int) -> int | None:
    """The row whose label column holds ``label``; other columns only if column A has none."""
    rows = sorted(r for (r, c), cell in sheet.cells.items() if c == label_col and _same_label(cell, label))
    if rows:
        return rows[0]
    rows = sorted(r for (r, c), cell in sheet.cells.items() if _same_label(cell, label))
    return rows[0] if rows else None


def _header_columns(sheet: _Sheet, bm: BudgetMap) -> dict[str, int]:
    """Columns by their header text where a header row exists, else the map's columns."""
    cols = {part: _col_index(letter) for part, letter in bm.columns.items()}
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
        if number.as_tuple().exponent < -6:  # binary float noise such as 0.30000000000000004
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
        return str(value.quantize(_CENT) if value.as_tuple().exponent >= -2 else value.normalize())
    text = format(value.normalize(), "f")
    return text


@dataclass
class _Found:
    key: str
    label: str
    positions: dict[str, tuple[int, int]]  # part -> (row, col)
    origin: dict[str, str]  # part -> "name x" | "label"


def _locate(sheet: _Sheet, book: _Book, bm: BudgetMap, line: BudgetLine, cols: dict[str, int]) -> _Found | None:
    """Where the line's cells are: by defined names if they still point at the line's row,
    else by the label in the label column."""
    label_col = _col_index(bm.label_column)
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


def _source(sheet: _Sheet, pos: tuple[int, int], origin: str, label: str) -> str:
    where = f"cell {sheet.name}!{_ref(*pos)}"
    return f"{where} ({origin})" if origin != "label" else f"{where} (label '{label}')"


def _read_value(sheet: _Sheet, found: _Found, part: str, reading: BudgetReading
                ) -> tuple[Decimal | None, str | None, bool]:
    """(value, source, needs_recompute) of one cell."""
    pos = found.positions[part]
    cell = sheet.cells.get(pos)
    source = _source(sheet, pos, found.origin[part], found.label)
    field_name = f"{found.key}.{part}"
    params = {"line": found.label, "column": part, "cell": f"{sheet.name}!{_ref(*pos)}"}
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


def _extract(book: _Book, bm: BudgetMap, reading: BudgetReading) -> None:
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
                                column=part, cell=f"{sheet.name}!{_ref(*pos)}")
            recompute = recompute or (needs and part == "amount")
        if recompute:
            h, r, s = values.get("hours"), values.get("rate"), values.get("share")
            if None not in (h, r, s) and {"hours", "rate", "share"} <= set(line.names):
                values["amount"] = (h * r * s).quantize(_CENT, rounding=ROUND_HALF_UP)
                refs = "*".join(_ref(*found.positions[p]) for p in ("hours", "rate", "share"))
                sources["amount"] = f"computed from {sheet.name}!{refs}"
                reading.recomputed.append(f"{line.key}.amount")
            else:
                pos = found.positions["amount"]
                reading.problem(ProblemCode.BUDGET_VALUE_MISSING, f"{line.key}.amount", line=line.label,
                                column="amount", cell=f"{sheet.name}!{_ref(*pos)}")
        amounts.append(values.get("amount"))
        amount_refs.append(_ref(*found.positions["amount"]))
        entry = {"key": line.key, "line": line.label}
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
            if all(a is not None for a in amounts):
                value = sum(amounts, Decimal(0)).quantize(_CENT)
                source = f"computed from {sheet.name}!{'+'.join(amount_refs)}"
                reading.recomputed.append(f"{total_line.key}.amount")
            else:
                pos = found.positions["amount"]
                reading.problem(ProblemCode.BUDGET_VALUE_MISSING, f"{total_line.key}.amount", line=total_line.label,
                                column="amount", cell=f"{sheet.name}!{_ref(*pos)}")
        reading.total = _fmt("amount", value)
        reading.total_source = source
    if not found_any:
        reading.lines = []
        reading.problems = [p for p in reading.problems if p["code"] != ProblemCode.BUDGET_LINE_MISSING]
        reading.problem(ProblemCode.BUDGET_NOT_RECOGNISED)
        return
    reading.method = "mixed" if len(origins) > 1 else origins.pop() if origins else None
