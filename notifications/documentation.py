"""Mail about a grant's quarters: staff approved or rejected the documentation, or it is missing.

* :func:`queue_decision` — when staff approve a quarter (the payout is coming)
  or reject it (with their reason): one mail each time they decide, in the
  transaction that records the decision. It threads under the receipt of the
  quarter's documentation, else under the grant letter.
* :func:`remind` — documentation still missing ``reminder_days`` after a
  quarter ended: one reminder per grant and quarter, ever (its dedupe key), under
  the grant letter. Only grants whose decision letter went are reminded.

Templates: ``documentation-approved``, ``documentation-rejected`` and
``documentation-reminder`` (``.txt.j2`` and ``.html.j2``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from notifications import outbox, policy
from notifications.receipts import ReceiptSetup, and_list, pool_dates
from notifications.reminders import Planned
from notifications.render import build_message, labels, render_letter
from parsers.danish import date_da, deadline_da
from parsers.quarters import Quarter
from store import casedata as cd
from store import grants
from store.models import Case, OutboxMessage
from store.words import OutboxPurpose

log = logging.getLogger(__name__)


def context(grant: Case, quarter_label: str, setup: ReceiptSetup, **extra: Any) -> dict[str, Any]:
    """What the documentation templates show about ``grant`` and one quarter (``extra``: the rest)."""
    pool = setup.pool
    return {"case_id": grant.case_id, "org_name": cd.org_name(grant) or "", "name": grant.sender_name or "",
            "quarter": quarter_label, "pool": pool, "dates": pool_dates(pool),
            "required": and_list(pool.documentation_parts[k] for k in pool.documentation_required
                                 if k in pool.documentation_parts),
            **extra}


def _thread(session: Session, grant: Case, documentation: Case | None) -> tuple[str | None, list[str]]:
    """Under the quarter's documentation receipt, else under the grant letter (else nothing)."""
    if documentation is not None:
        receipt = grants.first_outbox(session, documentation, OutboxPurpose.DOCUMENTATION_RECEIPT)
        if receipt is not None:
            return receipt.message_id, [*cd.message_ids(session, documentation)[:1], receipt.message_id]
    letter = grants.last_letter(session, grant)
    row = grants.letter_outbox(session, letter) if letter is not None else None
    if row is None:
        return None, []
    return row.message_id, [*cd.message_ids(session, grant)[:1], row.message_id]


def queue_decision(session: Session, grant: Case, quarter_id: str, quarter_label: str, approved: bool,
                   amount: str, reason: str, setup: ReceiptSetup, now: dt.datetime) -> str:
    """Tell the grantee that staff approved (with the payout ``amount``) or rejected (with
    ``reason``) a quarter; return what became of the mail (its state, or ``skipped: why``)."""
    row = grants.quarter_row(session, grant.id, quarter_id)
    documentation = session.get(Case, row.documentation_pk) if row and row.documentation_pk else None
    recipient = ((documentation.sender if documentation else None) or grant.sender or "").strip().lower()
    why = policy.recipient_reason(recipient, setup.own_addresses)
    if why:
        log.info("case %s %s: no mail about the decision: %s", grant.case_id, quarter_id, why)
        return f"skipped: {why}"
    base = "documentation-approved" if approved else "documentation-rejected"
    ctx = context(grant, quarter_label, setup, amount=amount, reason=reason)
    text, html = render_letter(base, ctx)
    word = labels()["subjects"]["approved" if approved else "rejected"]
    parent, refs = _thread(session, grant, documentation)
    rendered = build_message(
        sender=setup.sender, to_addr=recipient, to_name=grant.sender_name,
        subject=f"[{grant.case_id}] {word}: dokumentation for {quarter_label}", text=text, html=html,
        now=now, auto_submitted="auto-generated", in_reply_to=parent, references=refs)
    purpose = OutboxPurpose.DOCUMENTATION_APPROVED if approved else OutboxPurpose.DOCUMENTATION_REJECTED
    # one mail per decision: a quarter rejected, then approved, then rejected again gets three
    key = f"{purpose}:{grant.case_id}:{quarter_id}:{now.isoformat()}"
    out, _ = outbox.enqueue(session, dedupe_key=key, purpose=purpose, recipient=recipient,
                            rendered=rendered, now=now, limits=None,
                            case_pk=(documentation or grant).id)
    return str(out.state)


def reminder_key(case_id: str, quarter_id: str) -> str:
    """One documentation reminder per grant and quarter, ever."""
    return f"{OutboxPurpose.DOCUMENTATION_REMINDER}:{case_id}:{quarter_id}"


def due_day(quarter: Quarter, days: int) -> dt.date:
    """The last day the quarter's documentation is on time: ``days`` after the quarter ended."""
    return quarter.end + dt.timedelta(days=days)


def remind(session: Session, quarters: Sequence[Quarter], days: int, setup: ReceiptSetup,
           now: dt.datetime, dry_run: bool = False) -> list[Planned]:
    """Queue a reminder for every quarter whose documentation is missing after its due day."""
    today = now.astimezone(setup.pool.timezone).date()
    late = [q for q in quarters if due_day(q, days) < today]
    out: list[Planned] = []
    if not late:
        return out
    for grant in grants.granted(session):
        letter = grants.last_letter(session, grant)
        if letter is None or grants.letter_outbox(session, letter) is None:
            continue  # not told of the grant yet: nothing to remind of
        have = {row.quarter for row in grants.quarters_of(session, grant.id)}
        for quarter in late:
            key = reminder_key(grant.case_id, quarter.id)
            if quarter.id in have or outbox.find(session, key) is not None:
                continue
            recipient = (grant.sender or "").strip().lower()
            why = policy.recipient_reason(recipient, setup.own_addresses)
            reminder_id = f"documentation-{quarter.id}"
            if why or dry_run:
                out.append(Planned(grant.case_id, reminder_id, recipient or "-",
                                   f"skipped: {why}" if why else "would send"))
                continue
            out.append(Planned(grant.case_id, reminder_id, recipient,
                               _queue_reminder(session, grant, quarter, days, recipient, setup, now).state))
    return out


def _queue_reminder(session: Session, grant: Case, quarter: Quarter, days: int, recipient: str,
                    setup: ReceiptSetup, now: dt.datetime) -> OutboxMessage:
    ctx = context(grant, quarter.label, setup, quarter_id=quarter.short, ended=date_da(quarter.end),
                  due=deadline_da(due_day(quarter, days)))
    text, html = render_letter("documentation-reminder", ctx)
    parent, refs = _thread(session, grant, None)
    rendered = build_message(
        sender=setup.sender, to_addr=recipient, to_name=grant.sender_name,
        subject=f"[{grant.case_id}] {labels()['subjects']['reminder']}: dokumentation for {quarter.label}",
        text=text, html=html, now=now, auto_submitted="auto-generated", in_reply_to=parent, references=refs)
    row, _ = outbox.enqueue(session, dedupe_key=reminder_key(grant.case_id, quarter.id),
                            purpose=OutboxPurpose.DOCUMENTATION_REMINDER, recipient=recipient,
                            rendered=rendered, now=now, limits=None, case_pk=grant.id)
    log.info("documentation reminder %s %s → %s (%s)", grant.case_id, quarter.id, recipient, row.state)
    return row
