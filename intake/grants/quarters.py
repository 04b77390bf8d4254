"""A grant's quarters: documentation arriving, and staff approving or rejecting it.

A grant is a granted application case. Each of its quarters (the pool file's
``[[quarters]]``) gets a :class:`~store.grant_models.GrantQuarter` row when
documentation for it arrives or when staff decide on it. States
(``store.words.QuarterState``): ``modtaget`` → ``godkendt`` or ``afvist``;
new documentation for a rejected quarter makes it ``modtaget`` again.

:func:`decide` is the one way staff approve or reject a quarter, for the
command line (``documentation approve|reject``) and for the web page: it
checks the choice, records who, when and why on the quarter and in the grant's
history, fixes the payout on approval and queues the mail that tells the
grantee, all in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.grants.plan import Plan, budget_lines, payout_plan
from intake.pool import Pool
from notifications import documentation as mail
from notifications.receipts import ReceiptSetup
from parsers.danish import kroner, to_decimal
from parsers.quarters import Quarter
from store import casedata as cd
from store import grants
from store import repository as repo
from store.grant_models import GrantQuarter
from store.models import Case
from store.words import CaseEventKind, CaseStatus, MailKind, QuarterState


class QuarterError(ValueError):
    """A choice about a quarter that cannot be carried out; the message (Danish, for staff) says why."""


@dataclass(frozen=True)
class Decided:
    """What :func:`decide` did."""

    case_id: str
    quarter: Quarter
    state: QuarterState
    amount: Decimal | None
    changed: bool  # False when the quarter already had this decision
    notice: str | None  # the state of the mail to the grantee (pending, suppressed, skipped: why)


def plan_for(case: Case, pool: Pool) -> Plan:
    """The payouts of a granted application, from its granted amount and its budget's lines."""
    return payout_plan(to_decimal(case.granted_amount), budget_lines(cd.budget(case)), pool.quarters)


def row(s: Session, grant: Case, quarter: Quarter) -> GrantQuarter | None:
    """The grant's row for ``quarter``, if it has one."""
    return grants.quarter_row(s, grant.id, quarter.id)


def _row_for(s: Session, grant: Case, quarter: Quarter, now: dt.datetime) -> tuple[GrantQuarter, bool]:
    """The grant's row for ``quarter``, made when missing (True: made now)."""
    found = row(s, grant, quarter)
    if found is not None:
        return found, False
    made = GrantQuarter(case_pk=grant.id, quarter=quarter.id, state=QuarterState.RECEIVED, inferred=False,
                        updated_at=now)
    try:
        with s.begin_nested():
            s.add(made)
    except IntegrityError:  # another worker made it just now
        again = row(s, grant, quarter)
        if again is None:
            raise
        return again, False
    return made, True


def documentation_arrived(s: Session, grant: Case, quarter: Quarter, documentation: Case,
                          arrived: dt.datetime, inferred: bool, now: dt.datetime) -> GrantQuarter:
    """Record that documentation for ``quarter`` of ``grant`` arrived (in the ``documentation`` case)."""
    q, made = _row_for(s, grant, quarter, now)
    if made:
        q.received_at, q.inferred = arrived, inferred
        detail = f"dokumentation for {quarter.label} modtaget ({documentation.case_id})"
    elif q.state == QuarterState.REJECTED:
        q.state, q.decided_by, q.decided_at = QuarterState.RECEIVED, None, None
        detail = f"ny dokumentation for {quarter.label} efter afvisningen ({documentation.case_id})"
    elif q.state == QuarterState.APPROVED:
        detail = f"mere dokumentation for {quarter.label}, der allerede er godkendt ({documentation.case_id})"
    else:
        detail = f"mere dokumentation for {quarter.label} ({documentation.case_id})"
    if q.documentation_pk is None:
        q.documentation_pk = documentation.id
    q.received_at = q.received_at or arrived
    q.updated_at = now
    repo.add_event(s, grant, CaseEventKind.QUARTER, detail, now)
    return q


def grant_case(s: Session, case_id: str) -> Case:
    """The granted application ``case_id`` names (a documentation case names its grant)."""
    case = repo.get_case(s, case_id.strip())
    if case is None:
        raise QuarterError(f"Der findes ingen sag {case_id.strip()}.")
    if case.kind == MailKind.DOCUMENTATION and case.parent_pk is not None:
        parent = s.get(Case, case.parent_pk)
        case = parent if parent is not None else case
    if case.kind != MailKind.APPLICATION or case.status != CaseStatus.GRANTED:
        raise QuarterError(f"{case.case_id} er ikke en bevilget ansøgning.")
    return case


def parse_quarter(text: str, pool: Pool) -> Quarter:
    """A quarter typed by staff (``2026Q1``) that is one of the pool's quarters."""
    try:
        quarter = Quarter.parse(text)
    except ValueError:
        raise QuarterError(f"«{text}» er ikke et kvartal; skriv fx 2026Q1.") from None
    if quarter not in pool.quarters:
        first, last = pool.quarters[0].id if pool.quarters else "-", pool.quarters[-1].id if pool.quarters else "-"
        raise QuarterError(f"{quarter.id} er ikke et af puljens kvartaler ({first}–{last}).")
    return quarter


def decide(s: Session, pool: Pool, setup: ReceiptSetup, case_id: str, quarter_text: str, approve: bool,
           by: str, now: dt.datetime, reason: str | None = None) -> Decided:
    """Approve or reject a quarter's documentation (see the module's description).

    A rejection needs a reason (the grantee gets it); an approval needs a payout
    the plan can give; a quarter on a payout list is not rejected any more.
    Raise :class:`QuarterError` when the choice cannot be made.
    """
    grant = grant_case(s, case_id)
    quarter = parse_quarter(quarter_text, pool)
    reason = " ".join((reason or "").split())[:2000] or None
    if not approve and reason is None:
        raise QuarterError("En afvisning skal have en begrundelse; den sendes til tilskudsmodtageren.")
    amount: Decimal | None = None
    if approve:
        plan = plan_for(grant, pool)
        amount = plan.amount(quarter)
        if amount is None:
            raise QuarterError(f"Kvartalets udbetaling kan ikke beregnes: {plan.problem}.")
    q, _ = _row_for(s, grant, quarter, now)
    state = QuarterState.APPROVED if approve else QuarterState.REJECTED
    if not approve and grants.payout_of(s, q) is not None:
        raise QuarterError(f"{quarter.label} for {grant.case_id} står allerede på en udbetalingsliste.")
    if q.state == state and (approve or q.reason == reason):
        return Decided(grant.case_id, quarter, state, to_decimal(q.amount), False, None)
    q.state, q.decided_by, q.decided_at, q.updated_at = state, by, now, now
    q.reason = None if approve else reason
    if approve:
        q.amount = str(amount)
    word = "godkendt" if approve else "afvist"
    detail = f"{quarter.label} {word} af {by}" + (f": {kroner(amount)}" if approve else f": {reason}")
    if q.documentation_pk is None:
        detail += " (uden dokumentation i intake)"
    repo.add_event(s, grant, CaseEventKind.QUARTER, detail, now)
    notice = mail.queue_decision(s, grant, quarter.id, quarter.label, approve, kroner(amount) if approve else "",
                                 reason or "", setup, now)
    return Decided(grant.case_id, quarter, state, amount, True, notice)
