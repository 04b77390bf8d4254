"""Processing stored mail: parse, route, extract, and record the result (idempotent).

Each message is handled in its own transaction. An error rolls that message
back, counts an attempt and records the error; after ``max_attempts`` the
message is quarantined for a person. Nothing here talks to a mail server.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from intake import routing
from intake.extraction import Extraction, extract
from intake.pool import Pool
from intake.settings import Settings
from parsers.mime import ParsedMail, parse_mail
from store import repository as repo
from store.db import transaction
from store.models import Attachment, Case, MessageState, RawMessage, Submission

log = logging.getLogger(__name__)

STATUS_RECEIVED = "modtaget"


@dataclass(frozen=True)
class CaseChange:
    """Handed to hooks (e.g. the outbox) inside the transaction that made the change."""

    kind: str  # "created", "submission", "followup"
    case: Case
    message: RawMessage
    mail: ParsedMail
    route: routing.Route
    submission: Submission | None = None


@dataclass
class Context:
    """What processing needs from the outside world, passed in."""

    settings: Settings
    pool: Pool
    factory: sessionmaker[Session]
    now: Callable
    hooks: list[Callable[[Session, CaseChange], None]] = field(default_factory=list)

    @property
    def own_addresses(self) -> frozenset[str]:
        """Addresses mail from which is ours (never a case, never answered)."""
        return frozenset(
            a.lower() for a in (self.pool.inbox, self.settings.outbox.from_address) if a
        )


def process_pending(ctx: Context, limit: int | None = None) -> Counter:
    """Process every stored (or retryable failed) message; return counts by result."""
    with ctx.factory() as s:
        ids = repo.pending_message_ids(s, ctx.settings.processing.max_attempts, limit)
    results: Counter = Counter()
    for pk in ids:
        results[process_one(ctx, pk)] += 1
    return results


def process_one(ctx: Context, pk: int) -> str:
    """Process one message; return its outcome, or its failure state."""
    try:
        with transaction(ctx.factory) as s:
            msg = repo.lock_message(s, pk)
            if msg is None or msg.state in MessageState.TERMINAL:
                return "skipped"
            return _apply(s, ctx, msg)
    except Exception as exc:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.warning("message %s failed: %s", pk, error)
        log.debug("message %s traceback:\n%s", pk, traceback.format_exc())
        with transaction(ctx.factory) as s:
            msg = s.get(RawMessage, pk)
            msg.attempts += 1
            msg.last_error = error[:4000]
            if msg.attempts >= ctx.settings.processing.max_attempts:
                msg.state = MessageState.QUARANTINED
                msg.reason = f"quarantined after {msg.attempts} failed attempts: {error[:500]}"
            else:
                msg.state = MessageState.FAILED
            return msg.state


def _finish(msg: RawMessage, ctx: Context, outcome: str, reason: str) -> str:
    msg.state = MessageState.PROCESSED
    msg.outcome = outcome
    msg.reason = reason
    msg.processed_at = ctx.now()
    msg.last_error = None
    return outcome


def _apply(s: Session, ctx: Context, msg: RawMessage) -> str:
    limit = ctx.settings.processing.max_message_bytes
    if msg.size > limit:
        return _finish(msg, ctx, routing.TRIAGE, f"message is {msg.size} bytes, above the limit of {limit}")
    mail = parse_mail(msg.raw)
    msg.subject = mail.subject[:2000]
    msg.sender = mail.from_addr
    tags = routing.case_tags(mail.subject, ctx.pool)
    known = repo.cases_for_references(s, [*mail.in_reply_to, *mail.references], tags)
    route = routing.route(mail, ctx.pool, own_addresses=ctx.own_addresses, known=known)
    if route.outcome == routing.CASE:
        _record_case(s, ctx, msg, mail, route)
    elif route.outcome == routing.FOLLOWUP:
        case = repo.get_case(s, route.case_id)
        msg.case = case
        repo.add_event(s, case, "followup", f"mail from {mail.from_addr}: {mail.subject}", ctx.now(), msg)
        _notify(s, ctx, CaseChange("followup", case, msg, mail, route))
    return _finish(msg, ctx, route.outcome, route.reason)


def _record_case(s: Session, ctx: Context, msg: RawMessage, mail: ParsedMail, route) -> None:
    extraction = extract(mail, route.kind, ctx)
    existing = s.query(Submission).filter_by(message_pk=msg.id).one_or_none()
    if existing is not None:  # reprocessing: refresh what this mail says, keep the case
        _fill_submission(s, existing, extraction)
        repo.add_event(s, existing.case, "reprocessed", "read again", ctx.now(), msg)
        return
    now = ctx.now()
    case = Case(
        case_id=repo.next_case_id(s, ctx.pool.case_prefix, ctx.pool.case_year),
        pool=ctx.pool.id, kind=route.kind, status=STATUS_RECEIVED,
        sender=mail.from_addr, sender_name=mail.from_name, subject=mail.subject[:2000],
        received_at=msg.internaldate, created_at=now, updated_at=now,
    )
    s.add(case)
    msg.case = case
    submission = Submission(case=case, message_pk=msg.id, received_at=msg.internaldate,
                            status=STATUS_RECEIVED, current=True, created_at=now)
    s.add(submission)
    _fill_submission(s, submission, extraction)
    repo.add_event(s, case, "created", f"{route.kind} from {mail.from_addr}", now, msg)
    s.flush()
    log.info("message %s → case %s (%s)", msg.id, case.case_id, route.kind)
    _notify(s, ctx, CaseChange("created", case, msg, mail, route, submission))


def _fill_submission(s: Session, submission: Submission, extraction: Extraction) -> None:
    for old in list(submission.attachments):
        s.delete(old)
    s.flush()
    submission.attachments = [
        Attachment(position=i, filename=a.filename, declared_type=a.declared_type,
                   detected_type=a.detected_type, size=a.size, sha256=a.sha256, role=a.role)
        for i, a in enumerate(extraction.attachments)
    ]
    submission.fields = extraction.fields
    submission.budget = extraction.budget
    submission.problems = extraction.problems


def _notify(s: Session, ctx: Context, change: CaseChange) -> None:
    for hook in ctx.hooks:
        hook(s, change)


def reset_for_reprocess(s: Session, messages: list[RawMessage]) -> None:
    """Put messages back to ``stored`` so the pure steps run on them again."""
    for msg in messages:
        msg.state = MessageState.STORED
        msg.attempts = 0
        msg.last_error = None
