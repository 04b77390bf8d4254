"""Receipts: one mail to the sender of each application, report or quarter's documentation, made
with the case.

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
    render_letter,
)
from parsers.danish import date_da, datetime_da, deadline_da, kroner, number_da, quarter_da, size_da
from store import casedata as cd
from store import grants
from store.models import Case, OutboxMessage, Submission
from store.words import (
    AttachmentRole,
    CaseStatus,
    MailKind,
    OutboxPurpose,
    OutboxState,
    QuarterState,
)

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
    # the subject without our tags, reply prefixes and subject words (routing.reply_base): what
    # our subject repeats; None: the subject as it is
    subject_base: str | None = None


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
    """Each attachment's name and, in Danish, what we took it for (``parts``: the pool's part names):
    ``{"name", "what", "line"}``, where ``line`` is the whole phrase ("læst som budget", or for a
    file above the size limit "ikke læst, for stor (31,5 MB)")."""
    if submission is None:
        return []
    words = labels()
    out = []
    for a in submission.attachments:
        if a.role == AttachmentRole.TOO_LARGE:
            what = words["roles"].get(a.role, a.role)
            line = f"ikke læst, {what} ({size_da(a.size)})"
        else:
            if a.parts:
                what = ", ".join(parts.get(part, part) for part in a.parts)
            elif a.role:
                what = words["roles"].get(a.role, a.role)
            else:
                what = words["types"].get(a.detected_type, a.detected_type)
            line = f"læst som {what}"
        out.append({"name": header_text(a.filename, FILENAME_CHARS) or "(uden navn)", "what": what,
                    "line": line})
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
    """The problems in plain words: the message and whether it must be fixed.

    Each message says itself what it is about ("CVR-nummeret … passer ikke"), so
    no field label goes in front of it (that read "CVR-nummer: CVR-nummeret …").
    """
    out = []
    for p in cd.submission_problems(submission):
        if not isinstance(p, dict):
            continue
        out.append({
            "message": cd.problem_message(p),
            "code": str(p.get("code") or ""),
            "severity": "error" if p.get("severity", "error") == "error" else "warning",
        })
    return out


def pool_dates(pool: PoolFacts) -> dict[str, str]:
    """The pool's dates in Danish words (a ``*_deadline`` with its last minute: "kl. 23.59"),
    plus the assessment period as written."""
    dates = {key: deadline_da(value) if key.endswith("deadline") else date_da(value)
             for key, value in pool.dates.items()}
    dates["assessment"] = pool.assessment
    return dates


def and_list(names: Iterable[str]) -> str:
    """``a, b og c``."""
    items = [n for n in names if n]
    return ", ".join(items[:-1]) + " og " + items[-1] if len(items) > 1 else "".join(items)


@dataclass(frozen=True)
class Grant:
    """The grant a report or a quarter's documentation was joined to, and what the quarter holds."""

    case_id: str
    org_name: str
    quarter: str = ""  # Danish: "1. kvartal 2026" (documentation only)
    inferred: bool = False  # the quarter was taken from the arrival date
    approved: bool = False  # the quarter was approved before this mail came
    parts: frozenset[str] = frozenset()  # documentation parts sent for the quarter so far


def receipt_context(case: Case, submission: Submission | None, incoming: Incoming,
                    pool: PoolFacts, grant: Grant | None = None) -> dict[str, Any]:
    """Everything the receipt templates show (``grant``: a report's or documentation's grant)."""
    budget = cd.submission_budget(submission)
    problems = problem_lines(submission)
    words = labels()
    names = pool.documentation_parts if case.kind == MailKind.DOCUMENTATION else pool.parts
    found = grant.parts if grant is not None else frozenset()
    files = attachment_lines(submission, names)
    return {
        "case_id": case.case_id,
        "tag": grant.case_id if grant is not None else case.case_id,  # the number the mail carries
        "kind": case.kind,
        "kind_label": words["kinds"].get(case.kind, case.kind),
        "status": case.status,
        "late": case.status == CaseStatus.LATE,
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
        "report_parts": and_list(pool.parts.values()),
        "grant": grant,
        "quarter": grant.quarter if grant is not None else "",
        "inferred": grant is not None and grant.inferred,
        "approved": grant is not None and grant.approved,
        "found_parts": and_list(pool.documentation_parts[k] for k in pool.documentation_parts if k in found),
        "optional_missing": [pool.documentation_parts[k] for k in pool.documentation_parts
                             if k not in found and k not in pool.documentation_required],
    }


def receipt_subject(case_id: str, subject: str) -> str:
    """``[PSV-2025-0001] Kvittering: <a short cleaned excerpt of their subject>`` (``subject`` is
    the applicant's own, with our tags and reply prefixes already taken off)."""
    excerpt = header_text(subject, SUBJECT_EXCERPT)
    return f"[{case_id}] {labels()['subjects']['receipt']}: {excerpt or 'jeres mail'}"


def grant_of(session: Session, case: Case) -> Grant | None:
    """The grant a report or a quarter's documentation belongs to (None for an application)."""
    parent = session.get(Case, case.parent_pk) if case.parent_pk is not None else None
    if parent is None:
        return None
    if case.kind != MailKind.DOCUMENTATION:
        return Grant(parent.case_id, cd.org_name(parent) or "")
    row = grants.quarter_of_documentation(session, case)
    parts = frozenset(p for sub in case.submissions for a in sub.attachments for p in (a.parts or ()))
    label = ""
    if row is not None:
        year, number = row.quarter.split("Q")
        label = quarter_da(int(year), int(number))
    return Grant(parent.case_id, cd.org_name(parent) or "", quarter=label,
                 inferred=row is not None and row.inferred, parts=parts,
                 approved=row is not None and row.state == QuarterState.APPROVED)


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
    grant = grant_of(session, case)
    context = receipt_context(case, submission, incoming, setup.pool, grant)
    text, html = render_letter(f"receipt-{case.kind}", context)
    refs = [*incoming.references, incoming.message_id] if incoming.message_id else list(incoming.references)
    # a grantee knows one case number, the grant's: a report's or documentation's receipt carries it
    tag = grant.case_id if grant is not None else case.case_id
    base = incoming.subject if incoming.subject_base is None else incoming.subject_base
    rendered = build_message(
        sender=setup.sender, to_addr=recipient, to_name=context["name"],
        subject=receipt_subject(tag, base), text=text, html=html, now=now,
        auto_submitted="auto-replied", in_reply_to=incoming.message_id, references=refs,
    )
    purpose = OutboxPurpose.DOCUMENTATION_RECEIPT if case.kind == MailKind.DOCUMENTATION else OutboxPurpose.RECEIPT
    row, _ = outbox.enqueue(
        session, dedupe_key=key, purpose=purpose, recipient=recipient, rendered=rendered,
        now=now, limits=setup.limits, case_pk=case.id, message_pk=incoming.message_pk,
    )
    if row.state == OutboxState.SUPPRESSED:
        _suppress(case, row.last_error or "rate limit")
    return row
