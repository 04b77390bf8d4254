"""Committee decisions back in: the export spreadsheet with ``beslutning`` filled in.

Columns are found by their header names, not positions, so staff may reorder,
hide or add columns. Every row is checked first; if any row is wrong nothing
changes and every error is reported with its row number and column, in Danish
(the list is for staff). Otherwise all decisions are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from intake.committee.export import (
    CASE_ID_HEADER,
    DECISION_HEADER,
    GRANTED_HEADER,
    REASON_HEADER,
    SHEET_TITLE,
)
from parsers.danish import CENT, kroner, parse_amount, to_decimal
from store import casedata as cd
from store import repository as repo
from store.models import Case, CaseEvent
from store.words import DECIDED, CaseEventKind, CaseStatus, MailKind


@dataclass(frozen=True)
class Decision:
    """One valid row: what the committee decided for a case."""

    row: int
    case_id: str
    decision: str
    amount: Decimal | None
    reason: str | None = None  # the committee's short reason for an afslag (the letter gives it)


@dataclass
class ImportResult:
    """What an import found and did."""

    errors: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped_rows: int = 0

    @property
    def ok(self) -> bool:
        """True when every row was valid."""
        return not self.errors

    def summary(self) -> str:
        """A Danish line for staff about what was registered."""
        granted = sum(1 for d in self.decisions if d.decision == CaseStatus.GRANTED)
        rejected = sum(1 for d in self.decisions if d.decision == CaseStatus.REJECTED)
        return (f"{len(self.changed)} sag(er) opdateret ({granted} bevilget, {rejected} afslag i arket), "
                f"{len(self.unchanged)} uændret, {self.skipped_rows} række(r) uden beslutning sprunget over")


def _norm(text: object) -> str:
    """Header/decision text compared forgivingly: case, spaces and Unicode form do not matter."""
    s = unicodedata.normalize("NFC", str(text or "")).replace("\u00a0", " ")
    return " ".join(s.split()).casefold()


def _err(row: int, column: str, message: str) -> str:
    return f'række {row}, kolonne "{column}": {message}'


def read_amount(value: object) -> Decimal | None | str:
    """A cell as an amount; None when empty; an error text when unreadable."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "er ikke et beløb"
    if isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value))
        # a spreadsheet formula may leave float noise; accept it only if it is whole øre
        if abs(d - d.quantize(CENT)) > Decimal("0.000001"):
            return f"{value} har mere end to decimaler"
        d = d.quantize(CENT)
    elif isinstance(value, Decimal):
        d = value
    else:
        parsed = parse_amount(str(value))
        if parsed is None:
            return f"«{value}» kan ikke læses som et beløb (skriv fx 500.000,00)"
        d = parsed
    try:
        if d != d.quantize(CENT):
            return f"{value} har mere end to decimaler"
    except InvalidOperation:
        return "er ikke et beløb"
    return d


def _requested(case: Case) -> Decimal | None:
    """The amount applied for: the form's amount, else the budget total."""
    return to_decimal(cd.field_value(case, "amount_requested")) or to_decimal(cd.budget(case).get("total"))


def check_decision(case: Case | None, decision: str, amount: Decimal | None | str,
                   typed: object = None) -> list[tuple[str, str]]:
    """What is wrong with one decision, as ``(where, Danish message)``; ``[]`` when it is valid.

    ``where`` is ``decision``, ``case`` or ``amount``. ``decision`` is the
    normalised text (``bevilget``/``afslag``), ``amount`` what :func:`read_amount`
    made of the amount (an error text when unreadable), ``typed`` the decision as
    written. The committee sheet and the case page both check with this.
    """
    errors: list[tuple[str, str]] = []
    if decision not in DECIDED:
        errors.append(("decision", f'«{typed if typed is not None else decision}» er ikke en beslutning; '
                                   f'skriv "{CaseStatus.GRANTED}" eller "{CaseStatus.REJECTED}"'))
    if case is not None and case.kind != MailKind.APPLICATION:
        errors.append(("case", f"{case.case_id} er ikke en ansøgning og kan ikke få en beslutning"))
    if isinstance(amount, str):
        errors.append(("amount", amount))
    elif decision == CaseStatus.GRANTED:
        if amount is None:
            errors.append(("amount", "et bevilget beløb skal udfyldes"))
        elif amount <= 0:
            errors.append(("amount", "beløbet skal være større end 0"))
        elif case is not None and (requested := _requested(case)) is not None and amount > requested:
            errors.append(("amount", f"{kroner(amount)} er mere end det ansøgte {kroner(requested)}"))
    elif decision == CaseStatus.REJECTED and amount:
        errors.append(("amount", "et afslag har intet bevilget beløb; slet beløbet"))
    return errors


def read_decisions(session: Session, source: str | Path | bytes) -> ImportResult:
    """Read and check every row of a decisions sheet; change nothing."""
    result = ImportResult()
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        wb = load_workbook(io.BytesIO(data), data_only=True)
        formulas = load_workbook(io.BytesIO(data))  # to tell a formula with no saved value
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        result.errors.append(f"filen kan ikke læses som et Excel-ark (.xlsx): {exc}")
        return result
    title = SHEET_TITLE if SHEET_TITLE in wb.sheetnames else wb.sheetnames[0]
    ws, ws_formulas = wb[title], formulas[title]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_norm(name), i)
    for needed in (CASE_ID_HEADER, DECISION_HEADER, GRANTED_HEADER):
        if _norm(needed) not in index:
            result.errors.append(f'kolonne "{needed}" findes ikke i arkets første række')
    if result.errors:
        return result
    c_id, c_dec, c_amt = (index[_norm(h)] for h in (CASE_ID_HEADER, DECISION_HEADER, GRANTED_HEADER))
    c_why = index.get(_norm(REASON_HEADER))  # optional: older sheets have no such column
    seen: dict[str, int] = {}
    for rownum, values in enumerate(rows, start=2):
        def cell(i: int, values: Sequence[Any] = values) -> Any:
            return values[i] if i < len(values) else None

        decision_text = _norm(cell(c_dec))
        amount = read_amount(cell(c_amt))
        raw = ws_formulas.cell(rownum, c_amt + 1).value
        if amount is None and isinstance(raw, str) and raw.startswith("="):
            amount = f"formlen {raw} har ingen gemt værdi; åbn og gem arket i Excel, eller skriv beløbet"
        case_text = str(cell(c_id) or "").strip()
        if not decision_text:
            if isinstance(amount, Decimal):
                result.errors.append(_err(rownum, GRANTED_HEADER,
                                          f'beløb uden beslutning: skriv "{CaseStatus.GRANTED}" i "{DECISION_HEADER}" '
                                          "eller slet beløbet"))
            else:
                result.skipped_rows += 1
            continue
        errors_before = len(result.errors)
        case = repo.get_case(session, case_text) if case_text else None
        problems = check_decision(case, decision_text, amount, cell(c_dec))
        result.errors.extend(_err(rownum, DECISION_HEADER, m) for w, m in problems if w == "decision")
        if not case_text:
            result.errors.append(_err(rownum, CASE_ID_HEADER, "sags-id mangler"))
        elif case is None:
            result.errors.append(_err(rownum, CASE_ID_HEADER, f"der findes ingen sag {case_text}"))
        elif case.case_id in seen:
            result.errors.append(_err(rownum, CASE_ID_HEADER,
                                      f"{case.case_id} står også i række {seen[case.case_id]}"))
        if case is not None:
            seen.setdefault(case.case_id, rownum)
        result.errors.extend(_err(rownum, CASE_ID_HEADER, m) for w, m in problems if w == "case")
        result.errors.extend(_err(rownum, GRANTED_HEADER, m) for w, m in problems if w == "amount")
        reason = " ".join(str(cell(c_why) or "").split())[:2000] if c_why is not None else ""
        if reason and decision_text == CaseStatus.GRANTED:
            result.errors.append(_err(rownum, REASON_HEADER, "en begrundelse hører kun til et afslag; slet den"))
        if len(result.errors) == errors_before and case is not None:
            granted = amount if decision_text == CaseStatus.GRANTED and isinstance(amount, Decimal) else None
            result.decisions.append(Decision(rownum, case.case_id, decision_text, granted, reason or None))
    return result


def record_decision(session: Session, case: Case, decision: str, amount: Decimal | None,
                    now: dt.datetime, source: str, reason: str | None = None) -> bool:
    """Write one checked decision on its case, with an event; False when it was already so.

    ``source`` says where it came from, for the history ("fra række 3 i beslutningsarket").
    """
    amount_text = str(amount.quantize(CENT)) if amount is not None else None
    reason = (reason or "").strip() or None if decision == CaseStatus.REJECTED else None
    if (case.status == decision and case.decision == decision and case.granted_amount == amount_text
            and (reason is None or case.decision_reason == reason)):
        return False
    before = case.status
    case.status, case.decision, case.granted_amount = decision, decision, amount_text
    case.decision_reason = reason
    case.decision_version = (case.decision_version or 0) + 1  # the letter for it is due now
    case.updated_at = now
    detail = f"{decision}" + (f" {kroner(amount)}" if amount is not None else "")
    detail += f": {reason}" if reason else ""
    session.add(CaseEvent(case=case, at=now, kind=CaseEventKind.DECISION,
                          detail=f"{detail} (før: {before}; {source})"[:4000]))
    return True


def apply_decisions(session: Session, decisions: list[Decision], now: dt.datetime,
                    result: ImportResult) -> None:
    """Write checked decisions to their cases, with an event each; unchanged ones are left alone."""
    for d in decisions:
        case = repo.get_case(session, d.case_id)
        if case is None:  # read_decisions found every case in this session
            raise LookupError(f"case {d.case_id} disappeared during the import")
        changed = record_decision(session, case, d.decision, d.amount, now,
                                  f"fra række {d.row} i beslutningsarket", reason=d.reason)
        (result.changed if changed else result.unchanged).append(case.case_id)


def import_decisions(session: Session, source: str | Path | bytes, now: dt.datetime) -> ImportResult:
    """Check every row, then (only if all are valid) record the decisions in ``session``.

    The caller commits ``session``: all decisions land in one transaction or none.
    """
    result = read_decisions(session, source)
    if result.ok:
        apply_decisions(session, result.decisions, now, result)
    return result
