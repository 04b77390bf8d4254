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
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, cast

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from intake.committee.cells import as_text
from parsers.danish import money_str, to_decimal
from store import casedata as cd
from store.models import Case
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
    value: Callable[[Case], Any]
    width: float
    number_format: str | None = None
    wrap: bool = False


def _number(case: Case, key: str) -> Decimal | int | None:
    v = cd.field_value(case, key)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    return to_decimal(v)


def _money(value: object) -> Decimal | None:
    text = money_str(value)
    return Decimal(text) if text is not None else None


def problems_text(case: Case) -> str:
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


def application_workbook(session: Session) -> Workbook:
    """The committee spreadsheet: one row per application, header frozen, with a filter."""
    wb = Workbook()
    ws = cast(Worksheet, wb.active)  # a new workbook has one worksheet
    ws.title = SHEET_TITLE
    ws.append([col.header for col in COLUMNS])
    bold, shade = Font(bold=True), PatternFill("solid", fgColor="DDE5EE")
    for cell in ws[1]:
        cell.font, cell.fill = bold, shade
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    # ws.max_row scans every cell: asked once per row it made the sheet quadratic (15 s at 10,000 rows)
    for row, case in enumerate(cd.all_cases(session, kind=MailKind.APPLICATION), start=2):
        for i, col in enumerate(COLUMNS, start=1):
            value = col.value(case)
            cell = ws.cell(row=row, column=i, value=as_text(value) if isinstance(value, str) else value)
            if cell.data_type == "f":  # cannot happen after as_text; never let it through
                raise ValueError(f"a formula in the committee sheet at {cell.coordinate}")
    for i, col in enumerate(COLUMNS, start=1):
        longest = 0
        align = Alignment(wrap_text=col.wrap, vertical="top")  # one object per column, not per cell
        for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
            if col.number_format:
                cell.number_format = col.number_format
            cell.alignment = align
            longest = max(longest, _display_length(cell.value))
        # short columns grow to their longest value; long texts keep their width and wrap
        width = col.width if col.wrap else max(col.width, min(longest + 2, 60))
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "B2"  # header row and the case id stay in view
    ws.auto_filter.ref = ws.dimensions
    return wb


def _display_length(value: object) -> int:
    """About how many characters a value shows as (money gains thousands separators)."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def write_xlsx(session: Session, out: str | IO[bytes]) -> int:
    """Write the committee spreadsheet; return the number of application rows."""
    wb = application_workbook(session)
    wb.save(out)
    return cast(Worksheet, wb.active).max_row - 1


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


def case_json(session: Session, case: Case, tz: dt.tzinfo,
              message_ids: dict[int, list[str]] | None = None) -> dict[str, Any]:
    """One case in the shape of the JSON export contract (``message_ids``: every case's, read once)."""
    sub = cd.current_submission(case)
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
    return [case_json(session, case, tz, ids) for case in cd.all_cases(session, files=True)]


def write_json(session: Session, tz: dt.tzinfo, out: IO[str]) -> int:
    """Write the JSON export (UTF-8, readable); return the number of cases."""
    data = export_json(session, tz)
    json.dump(data, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return len(data)
