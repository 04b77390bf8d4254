"""The payout list for finance: a quarter's approved payments, each quarter of a grant paid once.

``pulje-intake payouts --quarter 2026Q1 --out FILE`` lists every grant whose
documentation for the quarter staff have approved and that is on no earlier
list: case, organisation, CVR (NemKonto payments go by CVR), quarter, amount and
the day the documentation was approved. The list and its payouts are recorded
in the same transaction that writes the file, so a quarter is never listed
twice; ``--list N`` writes an earlier list again (a lost file), changing nothing.

XLSX or CSV by the file's extension. The organisation's name (typed by the
applicant) is always text, never a formula (``intake/committee/cells.py``). The
CSV is what Danish Excel opens directly: UTF-8 with a byte-order mark,
semicolons, a decimal comma and no thousands separator; dates are ISO.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import cast

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.committee.cells import csv_text, put_text
from intake.errors import ConfigError
from intake.grants.quarters import QuarterError, parse_quarter
from intake.pool import Pool
from parsers.danish import money_str, to_decimal
from parsers.quarters import Quarter
from store import casedata as cd
from store.grant_models import GrantQuarter, Payout, PayoutList
from store.models import Case
from store.words import QuarterState

HEADERS = ("Sags-id", "Organisation", "CVR", "Kvartal", "Beløb (kr.)", "Dokumentation godkendt")
SHEET_TITLE = "Udbetalinger"


@dataclass(frozen=True)
class Row:
    """One payment: a grant's approved quarter."""

    case_id: str
    organisation: str
    cvr: str
    quarter: str
    amount: Decimal
    approved: dt.date


@dataclass
class PayoutResult:
    """What a payout run listed, and what it could not list (with why)."""

    quarter: Quarter
    rows: list[Row] = field(default_factory=list)
    held_back: list[tuple[str, str]] = field(default_factory=list)  # (case id, Danish reason)
    list_id: int | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the listed payments."""
        return sum((r.amount for r in self.rows), Decimal(0))


def _due(s: Session, quarter: Quarter) -> list[tuple[GrantQuarter, Case]]:
    paid = select(Payout.quarter_pk)
    rows = s.execute(
        select(GrantQuarter, Case).join(Case, Case.id == GrantQuarter.case_pk)
        .where(GrantQuarter.quarter == quarter.id, GrantQuarter.state == QuarterState.APPROVED,
               GrantQuarter.id.not_in(paid))
        .order_by(Case.id))
    return [(q, case) for q, case in rows]


def _row(q: GrantQuarter, case: Case, tz: dt.tzinfo) -> Row | str:
    """The payment of one approved quarter, or why it cannot be paid."""
    cvr = cd.cvr(case)
    amount = to_decimal(q.amount)
    if not cvr:
        return "intet CVR-nummer: NemKonto-udbetalingen kan ikke gå"
    if amount is None or amount <= 0 or q.decided_at is None:
        return "intet godkendt beløb"
    return Row(case.case_id, cd.org_name(case) or "", cvr, q.quarter, amount, q.decided_at.astimezone(tz).date())


def collect(s: Session, pool: Pool, quarter_text: str) -> PayoutResult:
    """The payments due for a quarter (nothing is recorded)."""
    try:
        quarter = parse_quarter(quarter_text, pool)
    except QuarterError as exc:
        raise ConfigError(str(exc)) from None
    result = PayoutResult(quarter)
    for q, case in _due(s, quarter):
        row = _row(q, case, pool.timezone)
        if isinstance(row, str):
            result.held_back.append((case.case_id, row))
        else:
            result.rows.append(row)
    return result


def record(s: Session, result: PayoutResult, filename: str, now: dt.datetime) -> None:
    """Put the listed payments on a new payout list (in the caller's transaction)."""
    listing = PayoutList(quarter=result.quarter.id, created_at=now, filename=filename)
    s.add(listing)
    s.flush()
    by_case = {r.case_id: r for r in result.rows}
    for q, case in _due(s, result.quarter):
        if case.case_id in by_case:
            s.add(Payout(list_pk=listing.id, quarter_pk=q.id, amount=money_str(by_case[case.case_id].amount) or ""))
    s.flush()
    result.list_id = listing.id


def earlier(s: Session, list_id: int, pool: Pool) -> PayoutResult:
    """An earlier payout list, as it was written."""
    listing = s.get(PayoutList, list_id)
    if listing is None:
        raise ConfigError(f"der findes ingen udbetalingsliste nr. {list_id}")
    result = PayoutResult(Quarter.parse(listing.quarter), list_id=listing.id)
    for payout in listing.payouts:
        q = s.get_one(GrantQuarter, payout.quarter_pk)
        case = s.get_one(Case, q.case_pk)
        tz = pool.timezone
        decided = (q.decided_at or listing.created_at).astimezone(tz).date()
        result.rows.append(Row(case.case_id, cd.org_name(case) or "", cd.cvr(case) or "", q.quarter,
                               Decimal(payout.amount), decided))
    return result


def xlsx_bytes(rows: list[Row]) -> bytes:
    """The list as an XLSX workbook: text where the applicant typed it, numbers and dates where ours."""
    wb = Workbook()
    ws = cast(Worksheet, wb.active)  # a new workbook has one sheet
    ws.title = SHEET_TITLE
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, r in enumerate(rows, start=2):
        for col, value in enumerate((r.case_id, r.organisation, r.cvr, r.quarter), start=1):
            put_text(cast(Cell, ws.cell(row=i, column=col)), value)  # a new sheet has no merged cells
        amount = ws.cell(row=i, column=5, value=r.amount)
        amount.number_format = "#,##0.00"
        day = ws.cell(row=i, column=6, value=r.approved)
        day.number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEF", (16, 36, 11, 9, 15, 22), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows: list[Row]) -> bytes:
    """The list as CSV for Danish Excel (see the module's description)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for r in rows:
        writer.writerow([csv_text(r.case_id), csv_text(r.organisation), csv_text(r.cvr), r.quarter,
                         str(r.amount.quantize(Decimal("0.01"))).replace(".", ","), r.approved.isoformat()])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def file_bytes(path: Path, rows: list[Row]) -> bytes:
    """The list in the format the file name's extension asks for (.xlsx or .csv)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return xlsx_bytes(rows)
    if suffix == ".csv":
        return csv_bytes(rows)
    raise ConfigError(f"{path}: write the payout list as .xlsx or .csv")


def write_atomically(path: Path, data: bytes) -> Path:
    """Write beside the final name first, so a half-written list is never there to be paid from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    return tmp


def publish(tmp: Path, path: Path) -> None:
    """Move the finished file into place (after the list is recorded)."""
    os.replace(tmp, path)
