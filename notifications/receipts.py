"""Receipts: one mail to the sender of each application or report, made with the case.

Called from the case-change hook inside the transaction that made the case
(or the new submission), so the receipt row exists exactly when the case
does. A follow-up on a case gets no acknowledgement: answering every reply
automatically is how two robots end up mailing each other forever, and the
sender's mail client already shows that their reply went out.

When no receipt is made (automatic mail, no-reply sender, our own address,
a From without exactly one address, a sender the inbox's mail server did not
verify, mail older than ``max_receipt_age_hours``) the reason is written on
``Case.receipts_suppressed`` and logged.

What the sender wrote is repeated sparingly, so a receipt cannot carry
someone else's message: the subject line is ours with the case tag and a short
cleaned excerpt of theirs; the body names at most :data:`MAX_FILES` files
("og 9.995 andre filer") and quotes the name and subject cut short.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from notifications import outbox, policy
from notifications.render import (
    PoolFacts,
    Sender,
    build_message,
    display_name,
    header_text,
    labels,
    render_pair,
)
from parsers.danish import date_da, datetime_da, kroner, number_da
from store import casedata as cd
from store.models import Case, OutboxMessage, Submission
from store.words import OutboxPurpose, OutboxState

log = logging.getLogger(__name__)

MAX_FILES = 5  # attachments named in a receipt; the rest are counted
SUBJECT_EXCERPT = 60  # characters of the sender's subject in ours
NAME_CHARS = 60
FILENAME_CHARS = 80


@dataclass(frozen=True)
class Incoming:
    """What the receipt needs to know about the mail it answers (plain values)."""

    message_pk: int
    message_id: str | None
    references: list[str]
    headers: Mapping[str, Iterable[str]]
    content_type: str
    arrived_at: dt.datetime
    subject: str
    from_addr: str | None
    from_name: str | None
    sender_problem: str | None = None  # why the From header gives no single address
    unverified: str | None = None  # why the inbox's mail server did not verify the sender


@dataclass(frozen=True)
class ReceiptSetup:
    """Everything fixed per worker: who we are, the pool, the limits."""

    sender: Sender
    pool: PoolFacts
    limits: outbox.Limits
    own_addresses: frozenset[str] = field(default_factory=frozenset)


def dedupe_key(message_pk: int) -> str:
    """One receipt per received mail."""
    return f"receipt:msg:{message_pk}"


def _format(value: Any, kind: str) -> str:
    if kind == "money":
        return kroner(value)
    if kind == "date":
        return date_da(value)
    if kind == "number":
        return number_da(value)
    return str(value)


def attachment_lines(submission: Submission | None, parts: dict[str, str]) -> list[dict[str, str]]:
    """Each attachment's name and, in Danish, what we took it for (``parts``: the pool's part names)."""
    if submission is None:
        return []
    words = labels()
    out = []
    for a in submission.attachments:
        if a.parts:
            what = ", ".join(parts.get(part, part) for part in a.parts)
        elif a.role:
            what = words["roles"].get(a.role, a.role)
        else:
            what = words["types"].get(a.detected_type, a.detected_type)
        out.append({"name": header_text(a.filename, FILENAME_CHARS) or "(uden navn)", "what": what})
    return out


def field_lines(submission: Submission | None) -> list[dict[str, str]]:
    """The key form fields we read, as (label, value shown in Danish)."""
    fields = cd.submission_fields(submission)
    out = []
    for spec in labels()["fields"]:
        value = cd.value_of(fields.get(spec["key"]))
        if value is None or value == "":
            continue
        out.append({"label": spec["label"], "value": _format(value, spec.get("format", "text"))})
    return out


def problem_lines(submission: Submission | None) -> list[dict[str, str]]:
    """The problems in plain words: the message, the field it is about, must-fix or not."""
    names = labels()["field_labels"]
    out = []
    for p in cd.submission_problems(submission):
        if not isinstance(p, dict):
            continue
        fld = p.get("field")
        out.append({
            "message": cd.problem_message(p),
            "field": names.get(fld, fld) if fld else "",
            "severity": "error" if p.get("severity", "error") == "error" else "warning",
        })
    return out


def pool_dates(pool: PoolFacts) -> dict[str, str]:
    """The pool's dates in Danish words, plus the assessment period as written."""
    dates = {key: date_da(value) for key, value in pool.dates.items()}
    dates["assessment"] = pool.assessment
    return dates


def receipt_context(case: Case, submission: Submission | None, incoming: Incoming,
                    pool: PoolFacts) -> dict[str, Any]:
    """Everything the receipt templates show."""
    budget = cd.submission_budget(submission)
    problems = problem_lines(submission)
    words = labels()
    files = attachment_lines(submission, pool.parts)
    return {
        "case_id": case.case_id,
        "kind": case.kind,
        "kind_label": words["kinds"].get(case.kind, case.kind),
        "status": case.status,
        "name": display_name(incoming.from_name or case.sender_name, NAME_CHARS),
        "subject": header_text(incoming.subject, 2 * SUBJECT_EXCERPT),
        "received": datetime_da(incoming.arrived_at, pool.timezone),
        "attachments": files[:MAX_FILES],
        "more_attachments": max(0, len(files) - MAX_FILES),
        "fields": field_lines(submission),
        "budget_total": kroner(budget.get("total")),
        "budget_read": bool(budget),
        "problems": problems,
        "errors": [p for p in problems if p["severity"] == "error"],
        "warnings": [p for p in problems if p["severity"] == "warning"],
        "pool": pool,
        "dates": pool_dates(pool),
    }


def receipt_subject(case_id: str, subject: str) -> str:
    """``[PSV-2025-0001] Kvittering: <a short cleaned excerpt of their subject>``."""
    return f"[{case_id}] Kvittering: {header_text(subject, SUBJECT_EXCERPT) or 'din mail'}"


def _suppress(case: Case, reason: str) -> None:
    case.receipts_suppressed = f"no receipt: {reason}"[:2000]
    log.info("case %s: no receipt: %s", case.case_id, reason)


def queue_receipt(session: Session, case: Case, submission: Submission | None,
                  incoming: Incoming, setup: ReceiptSetup, now: dt.datetime) -> OutboxMessage | None:
    """Make the receipt row for ``incoming`` (at most once); None when none is sent, with why on the case."""
    key = dedupe_key(incoming.message_pk)
    existing = outbox.find(session, key)
    if existing is not None:
        return existing
    recipient = (incoming.from_addr or case.sender or "").strip().lower()
    decision = policy.receipt_decision(
        recipient=recipient, headers=incoming.headers, content_type=incoming.content_type,
        own_addresses=setup.own_addresses, arrived_at=incoming.arrived_at, now=now,
        max_age_hours=setup.limits.max_receipt_age_hours,
        sent_last_hour=outbox.sent_last_hour(session, recipient, now) if recipient else 0,
        max_per_hour=setup.limits.max_per_recipient_per_hour,
        sender_problem=incoming.sender_problem, unverified=incoming.unverified,
    )
    if decision.action == policy.SKIP:
        _suppress(case, decision.reason or "")
        return None
    context = receipt_context(case, submission, incoming, setup.pool)
    text, html = render_pair("receipt", context)
    refs = [*incoming.references, incoming.message_id] if incoming.message_id else list(incoming.references)
    rendered = build_message(
        sender=setup.sender, to_addr=recipient, to_name=context["name"],
        subject=receipt_subject(case.case_id, incoming.subject), text=text, html=html, now=now,
        auto_submitted="auto-replied", in_reply_to=incoming.message_id, references=refs,
    )
    row, _ = outbox.enqueue(
        session, dedupe_key=key, purpose=OutboxPurpose.RECEIPT, recipient=recipient, rendered=rendered,
        now=now, limits=setup.limits, case_pk=case.id, message_pk=incoming.message_pk,
    )
    if row.state == OutboxState.SUPPRESSED:
        _suppress(case, row.last_error or "rate limit")
    return row
