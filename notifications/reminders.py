"""Reminders from the pool file's ``[[reminders]]``: who gets which, when, and at most once.

A reminder is due when ``now`` is on or after its deadline day plus ``days``
(local time), and, for a reminder before the deadline (negative ``days``),
only until the deadline day has ended. Each (case, reminder) pair becomes one
outbox row with the key ``reminder:<case id>:<reminder id>``: running the job
again — ten times, or after a restart — finds the row and sends nothing more.

A recipient at an hourly limit (its own, its domain's, or all mail's) gets no
row yet: the reminder stays due and goes on a later run (a receipt over the
limit, by contrast, is suppressed). A case whose sender the inbox's mail
server did not verify (``Case.sender_auth``) gets no reminder at all.

Who a reminder applies to (``applies_to``):

* ``application_with_problems`` — application cases with status ``mangler``;
* ``granted_without_report`` — application cases with status ``bevilget`` that
  have no report case (no case whose ``parent_pk`` points at them).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from notifications import outbox, policy
from notifications.receipts import ReceiptSetup, and_list, pool_dates, problem_lines
from notifications.render import (
    Rendered,
    build_message,
    display_name,
    environment,
    header_text,
    labels,
    tidy_text,
)
from parsers.danish import date_da, deadline_da, kroner
from store import casedata as cd
from store import grants
from store.models import Case, JobState
from store.words import CaseStatus, MailKind, OutboxPurpose, SenderAuth

log = logging.getLogger(__name__)

JOB_NAME = "reminders"
APPLIES_TO = ("application_with_problems", "granted_without_report")


@dataclass(frozen=True)
class Rule:
    """One reminder of the pool file (plain values)."""

    id: str
    deadline: str
    days: int
    applies_to: str


@dataclass(frozen=True)
class Planned:
    """One reminder for one case and what became (or would become) of it."""

    case_id: str
    reminder_id: str
    recipient: str
    state: str  # pending | skipped: why | deferred: why | would send


def window(rule: Rule, dates: dict[str, dt.date], tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime | None]:
    """(from, until) in which ``rule`` is due; until is None for reminders on or after the deadline."""
    deadline = dates[rule.deadline]
    start = dt.datetime.combine(deadline + dt.timedelta(days=rule.days), dt.time(0, 0), tzinfo=tz)
    if rule.days < 0:
        return start, dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(0, 0), tzinfo=tz)
    return start, None


def is_due(rule: Rule, dates: dict[str, dt.date], tz: dt.tzinfo, now: dt.datetime) -> bool:
    """True while ``rule`` may be sent at ``now`` (pure)."""
    start, until = window(rule, dates, tz)
    return now >= start and (until is None or now < until)


def dedupe_key(case_id: str, reminder_id: str) -> str:
    """One reminder of each kind per case, ever."""
    return f"reminder:{case_id}:{reminder_id}"


def cases_for(session: Session, applies_to: str) -> list[Case]:
    """The cases a reminder group covers, oldest first."""
    if applies_to == "application_with_problems":
        q = select(Case).where(Case.kind == MailKind.APPLICATION, Case.status == CaseStatus.INCOMPLETE)
    elif applies_to == "granted_without_report":
        report = aliased(Case)
        q = select(Case).where(
            Case.kind == MailKind.APPLICATION, Case.status == CaseStatus.GRANTED,
            ~select(report.id).where(report.parent_pk == Case.id).exists(),
        )
    else:
        raise ValueError(f"unknown reminder group {applies_to!r} (known: {', '.join(APPLIES_TO)})")
    return list(session.scalars(q.order_by(Case.id)))


def reminder_context(case: Case, rule: Rule, setup: ReceiptSetup) -> dict[str, Any]:
    """Everything the reminder templates of ``rule`` show about ``case``."""
    problems = problem_lines(cd.current_submission(case))
    return {
        "case_id": case.case_id,
        "name": display_name(case.sender_name, 60),  # the sender's words, cut and cleaned
        "subject": header_text(case.subject, 120),
        "org_name": case.org_name or "",
        "deadline": deadline_da(setup.pool.dates[rule.deadline]),
        "received": date_da(case.received_at.astimezone(setup.pool.timezone).date()),
        "granted_amount": kroner(case.granted_amount),
        "problems": problems,
        "errors": [p for p in problems if p["severity"] == "error"],
        "pool": setup.pool,
        "dates": pool_dates(setup.pool),
        "report_parts": and_list(setup.pool.parts.values()),
    }


def render_reminder(session: Session, case: Case, rule: Rule, setup: ReceiptSetup, now: dt.datetime
                    ) -> Rendered:
    """The finished reminder mail for ``case`` from ``config/templates/reminder-<id>.(txt|html).j2``.

    Only for a case with a sender address (``run`` skips the others first)."""
    context = reminder_context(case, rule, setup)
    env = environment()
    text_module = env.get_template(f"reminder-{rule.id}.txt.j2").make_module(context)
    html = env.get_template(f"reminder-{rule.id}.html.j2").render(**context)
    subject = f"[{case.case_id}] {getattr(text_module, 'subject', labels()['subjects']['reminder'])}"
    parent, refs = thread_under_receipt(session, case)
    return build_message(
        sender=setup.sender, to_addr=case.sender or "", to_name=case.sender_name, subject=subject,
        text=tidy_text(str(text_module)), html=html, now=now, auto_submitted="auto-generated",
        in_reply_to=parent, references=refs,
    )


def thread_under_receipt(session: Session, case: Case) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References) that put a later mail of ours under the case's receipt: the mail
    that opened the case, then our receipt to it (the case's first mail alone when it got none)."""
    first = cd.message_ids(session, case)[:1]
    receipt = grants.first_outbox(session, case, OutboxPurpose.RECEIPT)
    if receipt is None:
        return (first[0] if first else None), first
    return receipt.message_id, [*first, receipt.message_id]


def run(session: Session, rules: Iterable[Rule], setup: ReceiptSetup, now: dt.datetime,
        dry_run: bool = False) -> list[Planned]:
    """Queue every due reminder not made before (or, with ``dry_run``, only list them)."""
    out: list[Planned] = []
    for rule in rules:
        if not is_due(rule, setup.pool.dates, setup.pool.timezone, now):
            continue
        for case in cases_for(session, rule.applies_to):
            key = dedupe_key(case.case_id, rule.id)
            if outbox.find(session, key) is not None:
                continue
            recipient = (case.sender or "").strip().lower()
            why = policy.recipient_reason(recipient, setup.own_addresses)
            if not why and case.sender_auth == SenderAuth.UNVERIFIED:
                why = "the sender is not verified (afsender ikke bekræftet)"
            if why:
                out.append(Planned(case.case_id, rule.id, recipient or "-", f"skipped: {why}"))
                continue
            if dry_run:
                out.append(Planned(case.case_id, rule.id, recipient, "would send"))
                continue
            over = outbox.rate_reason(outbox.sent_counts(session, recipient, now), setup.limits, recipient)
            if over:
                # unlike a receipt, a reminder stays due: wait for the next run instead of dropping it
                out.append(Planned(case.case_id, rule.id, recipient, f"deferred: {over}"))
                log.info("reminder %s for %s deferred: %s", rule.id, case.case_id, over)
                continue
            rendered = render_reminder(session, case, rule, setup, now)
            row, _ = outbox.enqueue(
                session, dedupe_key=key, purpose=f"{OutboxPurpose.REMINDER}-{rule.id}", recipient=recipient,
                rendered=rendered, now=now, limits=setup.limits, case_pk=case.id,
            )
            log.info("reminder %s for %s → %s (%s)", rule.id, case.case_id, recipient, row.state)
            out.append(Planned(case.case_id, rule.id, recipient, row.state))
    if not dry_run:
        state = session.get(JobState, JOB_NAME)
        if state is None:
            session.add(JobState(name=JOB_NAME, last_run_at=now, data={"queued": len(out)}))
        else:
            state.last_run_at, state.data = now, {"queued": len(out)}
    return out
