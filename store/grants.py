"""Reading grants: decision letters, a grant's quarters and the payout lists they went on.

A grant is a granted application case (``Case.status == "bevilget"``); the
letters, quarters and payouts are rows of their own (``store/models.py``).
Receipts, reminders, the digest and the commands read them through here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from store.grant_models import DecisionLetter, GrantQuarter, Payout
from store.models import Case, OutboxMessage
from store.words import DECIDED, CaseStatus, MailKind, OutboxState


def quarter_row(s: Session, case_pk: int, quarter_id: str) -> GrantQuarter | None:
    """A grant's row for one quarter (``2026Q1``), if it has one."""
    return s.scalar(select(GrantQuarter).where(GrantQuarter.case_pk == case_pk,
                                               GrantQuarter.quarter == quarter_id))


def quarters_of(s: Session, case_pk: int) -> list[GrantQuarter]:
    """Every quarter row of a grant, in quarter order."""
    return list(s.scalars(select(GrantQuarter).where(GrantQuarter.case_pk == case_pk)
                          .order_by(GrantQuarter.quarter)))


def quarter_of_documentation(s: Session, documentation: Case) -> GrantQuarter | None:
    """The quarter a documentation case collects mail for (None for an unclear quarter)."""
    return s.scalar(select(GrantQuarter).where(GrantQuarter.documentation_pk == documentation.id))


def granted(s: Session) -> list[Case]:
    """Every granted application, in case order."""
    return list(s.scalars(select(Case).where(Case.kind == MailKind.APPLICATION,
                                             Case.status == CaseStatus.GRANTED).order_by(Case.id)))


def decided(s: Session) -> list[Case]:
    """Every application with a committee decision, in case order."""
    return list(s.scalars(select(Case).where(Case.kind == MailKind.APPLICATION, Case.status.in_(DECIDED))
                          .order_by(Case.id)))


def letters_of(s: Session, case: Case) -> list[DecisionLetter]:
    """A case's decision letters, oldest first."""
    return list(s.scalars(select(DecisionLetter).where(DecisionLetter.case_pk == case.id)
                          .order_by(DecisionLetter.version)))


def last_letter(s: Session, case: Case) -> DecisionLetter | None:
    """The newest decision letter a case got, if any."""
    letters = letters_of(s, case)
    return letters[-1] if letters else None


def decision_now(case: Case) -> tuple[str, str | None, str | None]:
    """What a letter about the case's current decision says: decision, amount, reason."""
    return case.status, case.granted_amount, case.decision_reason if case.status == CaseStatus.REJECTED else None


def letters_by_case(s: Session) -> dict[int, list[DecisionLetter]]:
    """Every case's decision letters, oldest first, in one query (for lists of many cases)."""
    out: dict[int, list[DecisionLetter]] = {}
    for letter in s.scalars(select(DecisionLetter).order_by(DecisionLetter.case_pk, DecisionLetter.version)):
        out.setdefault(letter.case_pk, []).append(letter)
    return out


def letter_due(s: Session, case: Case, letters: list[DecisionLetter] | None = None) -> bool:
    """True when a decided case's current decision has no letter: none yet, or the decision
    changed since its letter (a decision changed and changed back needs none).

    ``letters``: the case's letters when the caller read them already (``letters_by_case``)."""
    last = last_letter(s, case) if letters is None else (letters[-1] if letters else None)
    if last is None:
        return True
    return last.version < case.decision_version and (last.decision, last.amount, last.reason) != decision_now(case)


def letter_outbox(s: Session, letter: DecisionLetter) -> OutboxMessage | None:
    """The outbox row of a decision letter (its Message-ID, whether it went)."""
    return s.get(OutboxMessage, letter.outbox_pk) if letter.outbox_pk is not None else None


def answered(s: Session, case: Case) -> bool:
    """True when an application has its answer: a decision letter went or is on its way, or the
    receipt told it that it came too late."""
    if case.status == CaseStatus.LATE:
        return True
    for letter in letters_of(s, case):
        row = letter_outbox(s, letter)
        if row is not None and row.state in (OutboxState.PENDING, OutboxState.SENT):
            return True
    return False


def answered_by_letter(s: Session) -> set[int]:
    """The cases whose decision letter went or is on its way (what :func:`answered` asks of
    each case), in one query."""
    return set(s.scalars(
        select(DecisionLetter.case_pk).join(OutboxMessage, OutboxMessage.id == DecisionLetter.outbox_pk)
        .where(OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENT]))))


def quarters_by_grant(s: Session) -> dict[int, list[tuple[GrantQuarter, str | None]]]:
    """Every grant's quarter rows in quarter order, each with its documentation case's id, in one query."""
    doc = aliased(Case)
    out: dict[int, list[tuple[GrantQuarter, str | None]]] = {}
    rows = s.execute(select(GrantQuarter, doc.case_id).outerjoin(doc, doc.id == GrantQuarter.documentation_pk)
                     .order_by(GrantQuarter.case_pk, GrantQuarter.quarter))
    for quarter, case_id in rows:
        out.setdefault(quarter.case_pk, []).append((quarter, case_id))
    return out


def payout_of(s: Session, quarter: GrantQuarter) -> Payout | None:
    """The payout a quarter went on a list with, if it did."""
    return s.scalar(select(Payout).where(Payout.quarter_pk == quarter.id))


def first_outbox(s: Session, case: Case, purpose: str) -> OutboxMessage | None:
    """The first mail of ``purpose`` we made for a case (e.g. its receipt), if any."""
    return s.scalar(select(OutboxMessage).where(OutboxMessage.case_pk == case.id,
                                                OutboxMessage.purpose == purpose)
                    .order_by(OutboxMessage.id).limit(1))
