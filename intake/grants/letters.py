"""Decision letters released as a batch: what would go, the PDFs for review, then queued once.

``pending`` lists every decided application whose current decision has no
letter yet: a first letter, or a correction when the decision changed since
its letter (a decision changed and changed back needs none). Staff look at the
list and the PDFs (``write_pdfs``), then ``send`` queues the letters: one
outbox row and one :class:`~store.grant_models.DecisionLetter` per case and
decision version, in one transaction, each under the application's receipt
(a correction under the letter it corrects).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from intake.grants.quarters import plan_for
from intake.pool import Pool
from notifications import letters, outbox, policy
from notifications.receipts import ReceiptSetup
from notifications.reminders import thread_under_receipt
from parsers.danish import to_decimal
from store import casedata as cd
from store import grants
from store import repository as repo
from store.grant_models import DecisionLetter
from store.models import Case
from store.words import CaseEventKind, CaseStatus, LetterKind, OutboxPurpose


@dataclass(frozen=True)
class Pending:
    """One letter that is due: for which case and decision, to whom, or why it cannot go."""

    case_id: str
    org_name: str
    facts: letters.LetterFacts
    skip: str | None = None  # why no letter can be sent (no usable address): staff write by hand
    plan_problem: str | None = None  # a grant whose quarterly payouts cannot be given

    @property
    def correction(self) -> bool:
        """True when it corrects an earlier letter."""
        return self.facts.corrects is not None


def facts_for(case: Case, pool: Pool, last: DecisionLetter | None) -> tuple[letters.LetterFacts, str | None]:
    """What the letter for the case's current decision says, and why its plan is missing (if it is)."""
    granted = case.status == CaseStatus.GRANTED
    plan = plan_for(case, pool) if granted else None
    applied = to_decimal(cd.field_value(case, "amount_requested")) or to_decimal(cd.budget(case).get("total"))
    tz = pool.timezone
    facts = letters.LetterFacts(
        case_id=case.case_id, version=case.decision_version,
        kind=LetterKind.GRANT if granted else LetterKind.REJECTION,
        recipient=(case.sender or "").strip().lower(),
        name=case.sender_name or str(cd.field_value(case, "contact_name") or ""),
        org_name=cd.org_name(case) or "", address=str(cd.field_value(case, "address") or ""),
        cvr=cd.cvr(case) or "", amount=to_decimal(case.granted_amount) if granted else None,
        applied=applied, fte=to_decimal(cd.field_value(case, "fte")),
        years=tuple(sorted({q.year for q in pool.quarters})),
        plan=tuple((q.label, amount) for q, amount in plan.amounts.items()) if plan else (),
        reason=(case.decision_reason or "") if not granted else "",
        corrects=last.created_at.astimezone(tz).date() if last is not None else None,
    )
    return facts, plan.problem if plan is not None else None


def pending(s: Session, pool: Pool, setup: ReceiptSetup) -> list[Pending]:
    """Every letter due now, in case order (nothing is written)."""
    out = []
    for case in grants.decided(s):
        if not grants.letter_due(s, case):
            continue
        facts, problem = facts_for(case, pool, grants.last_letter(s, case))
        skip = policy.recipient_reason(facts.recipient, setup.own_addresses)
        out.append(Pending(case.case_id, facts.org_name, facts, skip, problem))
    return out


def write_pdfs(due: list[Pending], setup: ReceiptSetup, now: dt.datetime, folder: Path) -> list[Path]:
    """Each due letter as ``<folder>/<case id>-<kind>.pdf`` for staff to read before it goes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for p in due:
        *_, pdf = letters.render(p.facts, setup, now)
        suffix = "-rettelse" if p.correction else ""
        path = folder / f"{p.case_id}-{p.facts.kind}{suffix}.pdf"
        path.write_bytes(pdf)
        paths.append(path)
    return paths


def send(s: Session, pool: Pool, setup: ReceiptSetup, now: dt.datetime, by: str) -> list[Pending]:
    """Queue every due letter that can go (in the caller's transaction); return those queued."""
    queued = []
    for p in pending(s, pool, setup):
        if p.skip:
            continue
        case = repo.get_case(s, p.case_id)
        if case is None:  # pending() found it in this session
            raise LookupError(f"case {p.case_id} disappeared")
        last = grants.last_letter(s, case)
        parent, refs = thread_under_receipt(s, case)
        earlier = grants.letter_outbox(s, last) if last is not None else None
        if earlier is not None:  # a correction answers the letter it corrects
            parent, refs = earlier.message_id, [*refs, earlier.message_id]
        rendered, _ = letters.build(p.facts, setup, now, parent, refs)
        row, _ = outbox.enqueue(s, dedupe_key=letters.dedupe_key(case.case_id, case.decision_version),
                                purpose=OutboxPurpose.DECISION_LETTER, recipient=p.facts.recipient,
                                rendered=rendered, now=now, limits=None, case_pk=case.id)
        s.add(DecisionLetter(case_pk=case.id, version=case.decision_version, kind=p.facts.kind,
                             decision=case.status, amount=case.granted_amount,
                             reason=grants.decision_now(case)[2], corrects_pk=last.id if last is not None else None,
                             outbox_pk=row.id, recipient=p.facts.recipient, created_at=now, by=by))
        what = f"{'rettet ' if p.correction else ''}{p.facts.kind} sendt til {p.facts.recipient} af {by}"
        repo.add_event(s, case, CaseEventKind.LETTER, what, now)
        queued.append(p)
    s.flush()
    return queued

