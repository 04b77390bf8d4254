"""Exports for the committee: a spreadsheet of applications and JSON of every case.

The spreadsheet has one row per application with the values the committee
weighs and three empty decision columns (``beslutning``, ``bevilget beløb`` and,
for an afslag, an optional short ``begrundelse`` the letter passes on) that
``intake.committee.decisions`` reads back by their header names. Every text in
it is written as text, never as a formula (:func:`intake.committee.cells.as_text`): an organisation
called ``=HYPERLINK("http://…","klik")`` is shown, not run. Numbers we computed
stay numbers. The JSON follows
the contract in DESIGN.md ("The JSON export"): amounts are strings with two
decimals, never floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from intake.committee import jsontext
from intake.committee.cells import as_text
from parsers.danish import money_str, to_decimal
from store import casedata as cd
from store.caserows import CaseRow, case_query, case_rows, gc_paused
from store.words import MailKind

SHEET_TITLE = "Ansøgninger"
CASE_ID_HEADER = "Sags-id"
DECISION_HEADER = "beslutning"
GRANTED_HEADER = "bevilget beløb"
REASON_HEADER = "begrundelse"  # the committee's short reason for an afslag (optional), sent in the letter
MONEY = "#,##0.00"  # openpyxl stores English syntax; Excel shows the reader's separators


@dataclass(frozen=True)
class Column:
    """One spreadsheet column: header, how to get its value, its format and width."""

    header: str
    value: Callable[[CaseRow], Any]
    width: float
    number_format: str | None = None
    wrap: bool = False


def _number(case: CaseRow, key: str) -> Decimal | int | None:
    v = cd.field_value(case, key)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    return to_decimal(v)


def _money(value: object) -> Decimal | None:
    text = money_str(value)
    return Decimal(text) if text is not None else None


def problems_text(case: CaseRow) -> str:
    """The current problems as one Danish text, one per line."""
    return "\n".join(cd.problem_message(p) for p in cd.problems(case))


COLUMNS: tuple[Column, ...] = (
    Column(CASE_ID_HEADER, lambda c: c.case_id, 15),
    Column("Organisation", cd.org_name, 28, wrap=True),
    Column("CVR", cd.cvr, 10, "@"),
    Column("Kommune", cd.municipality, 14, wrap=True),
    Column("Årsværk", lambda c: _number(c, "fte"), 9, "0.0#"),
    Column("Ansøgt beløb", lambda c: _money(cd.field_value(c, "amount_requested")), 15, MONEY),
    Column("Budget i alt", lambda c: _money(cd.budget(c).get("total")), 15, MONEY),
    Column("Anvisninger", lambda c: _number(c, "referrals"), 12, "#,##0"),
    Column("Udsættelser", lambda c: _number(c, "evictions"), 12, "#,##0"),
    Column("Husleje pr. m²", lambda c: _money(cd.field_value(c, "rent_level")), 13, MONEY),
    Column("Lokalt samarbejde", lambda c: cd.field_value(c, "collaboration"), 40, wrap=True),
    Column("Organisering og forankring", lambda c: cd.field_value(c, "organisation"), 40, wrap=True),
    Column("Målgruppe og effekt", lambda c: cd.field_value(c, "target_group"), 40, wrap=True),
    Column("Problemer", problems_text, 40, wrap=True),
    Column("Status", lambda c: c.status, 11),
    Column(DECISION_HEADER, lambda c: c.decision, 12),
    Column(GRANTED_HEADER, lambda c: _money(c.granted_amount), 15, MONEY),
    Column(REASON_HEADER, lambda c: c.decision_reason, 40, wrap=True),
)


def application_rows(session: Session) -> list[list[Any]]:
    """The sheet's values, one list per application in case order (texts already :func:`as_text`)."""
    rows = []
    for case in case_rows(session, case_query(kind=MailKind.APPLICATION)):
        values = [col.value(case) for col in COLUMNS]
        rows.append([as_text(v) if isinstance(v, str) else v for v in values])
    return rows


def application_workbook(session: Session) -> tuple[Workbook, int]:
    """The committee spreadsheet: one row per application, header frozen, with a filter; and
    the number of application rows.

    Written in openpyxl's write-only mode (10,000 rows: seconds less than styled cells kept in
    memory): the column widths come from the values, so every value is read before the first row
    is written; each column's style is one cell written again with each row's value.
    """
    rows = application_rows(session)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TITLE)
    for i, col in enumerate(COLUMNS, start=1):
        longest = max((_display_length(row[i - 1]) for row in rows), default=0)
        # short columns grow to their longest value; long texts keep their width and wrap
        width = col.width if col.wrap else max(col.width, min(longest + 2, 60))
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "B2"  # header row and the case id stay in view
    ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    ws.auto_filter.ref = ref
    setattr(ws, "calculate_dimension", lambda: ref)  # the <dimension> a normal sheet writes  # noqa: B010
    bold, shade = Font(bold=True), PatternFill("solid", fgColor="DDE5EE")
    header = []
    for col in COLUMNS:
        cell = WriteOnlyCell(ws, col.header)
        cell.font, cell.fill = bold, shade
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    ws.append(header)
    cells = []
    for col in COLUMNS:
        cell = WriteOnlyCell(ws)
        if col.number_format:
            cell.number_format = col.number_format
        cell.alignment = Alignment(wrap_text=col.wrap, vertical="top")
        cells.append(cell)
    for values in rows:
        for cell, value in zip(cells, values, strict=True):
            cell.value = value
            if cell.data_type == "f":  # cannot happen after as_text; never let it through
                raise ValueError(f"a formula in the committee sheet: {value!r}")
        ws.append(cells)  # written at once, so the same styled cells serve the next row
    return wb, len(rows)


def _display_length(value: object) -> int:
    """About how many characters a value shows as (money gains thousands separators)."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def write_xlsx(session: Session, out: str | IO[bytes]) -> int:
    """Write the committee spreadsheet; return the number of application rows."""
    with gc_paused():
        wb, rows = application_workbook(session)
        wb.save(out)
    return rows


def _budget_json(budget: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for line in budget.get("lines") or []:
        lines.append({
            "line": line.get("line"),
            "hours": _plain(line.get("hours")),
            "rate": money_str(line.get("rate")),
            "share": _plain(line.get("share")),
            "amount": money_str(line.get("amount")),
        })
    return {"lines": lines, "total": money_str(budget.get("total"))}


def _plain(value: object) -> str | None:
    d = to_decimal(value)
    return None if d is None else str(d)


_MONEY_FIELDS = {"amount_requested"}


def case_json(session: Session, case: CaseRow, tz: dt.tzinfo,
              message_ids: dict[int, list[str]] | None = None) -> dict[str, Any]:
    """One case in the shape of the JSON export contract (``message_ids``: every case's, read once)."""
    sub = case.submissions[-1] if case.submissions else None  # a row holds the current one only
    fields = {}
    for key, entry in cd.submission_fields(sub).items():
        value = cd.value_of(entry)
        fields[key] = money_str(value) if key in _MONEY_FIELDS and value is not None else value
    return {
        "case_id": case.case_id,
        "kind": case.kind,
        "status": case.status,
        "received_at": case.received_at.astimezone(tz).isoformat(),
        "sender": case.sender,
        "subject": case.subject,
        "organisation": {"name": cd.org_name(case), "cvr": cd.cvr(case)},
        "municipality": cd.municipality(case),
        "fields": fields,
        "budget": _budget_json(cd.budget(case)),
        "problems": [{"code": p.get("code"), "field": p.get("field"), "message": p.get("message")}
                     for p in cd.problems(case)],
        "attachments": [{"filename": a.filename, "sha256": a.sha256, "kind": a.detected_type}
                        for a in (sub.attachments if sub else [])],
        "message_ids": (message_ids.get(case.id, []) if message_ids is not None
                        else cd.message_ids(session, case)),
    }


def export_json(session: Session, tz: dt.tzinfo) -> list[dict[str, Any]]:
    """Every case, applications and reports, in the JSON export's shape (a fixed number of queries)."""
    ids = cd.message_ids_by_case(session)
    return [case_json(session, case, tz, ids) for case in case_rows(session, files=True)]


def write_json(session: Session, tz: dt.tzinfo, out: IO[str]) -> int:
    """Write the JSON export (UTF-8, readable); return the number of cases."""
    with gc_paused():
        data = export_json(session, tz)
        jsontext.dump(data, out)  # json.dump(..., ensure_ascii=False, indent=2), byte for byte, faster
    out.write("\n")
    return len(data)
