"""The drainer: send the outbox rows that are due, one at a time, and record each result.

For every due row:

1. **claim** it: ``SELECT … FOR UPDATE SKIP LOCKED`` of the row if it is still
   pending and due, and push ``next_attempt_at`` one lease
   (``[outbox] send_lease_seconds``) ahead, so no other pass or worker picks
   it up while we talk to the server (on SQLite writers are serialised);
2. **send** it, outside any transaction;
3. **record** the result in its own transaction right after the server
   answered: ``sent``; a 4xx → an attempt, retried with exponential backoff
   until ``max_attempts``, then ``held``: it waits for a person, with the
   server's answer (``status``, the digest and the staff page show it); a 5xx →
   ``failed`` with the answer. An outage (refused, timed out, unreachable, TLS
   cut, login failing) is **not** an attempt: the mail is fine, the server is
   not; the row is tried again after ``outage_retry_seconds`` (≤ 60 s, so
   sending resumes within a minute of the server's return) and the pass stops.

A database that drops the connection while step 3 commits (a restart, a
terminated backend) does not resend the mail: the result is recorded again on
a new connection, with short waits, for up to ``record_retry_seconds``.
A crash after the server accepted a mail and before step 3 committed leaves
the row ``pending`` with its lease: once the lease runs out the mail is sent
again — the same stored bytes, so **the same Message-ID**. Delivery is
therefore at least once, and a duplicate is recognisable (and usually folded
away by the receiving mail system) by that Message-ID. We prefer this to
marking the row sent before sending, which would lose the mail on a crash.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from notifications.smtp import PermanentError, Sender, TemporaryError, Unreachable
from store.db import transaction
from store.models import Case, OutboxMessage
from store.words import OutboxState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainSettings:
    """How hard the drainer tries (plain values from the settings)."""

    max_attempts: int = 8
    backoff_seconds: float = 60.0
    backoff_max_seconds: float = 3600.0
    lease_seconds: float = 60.0
    batch: int = 500
    outage_retry_seconds: float = 30.0  # after an outage: no attempt counted, tried again this soon
    record_retry_seconds: float = 60.0  # a sent mail's result is recorded again this long if the database drops


@dataclass
class DrainReport:
    """What one pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    unreachable: str | None = None
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"outbox: {self.sent} sent, {self.retrying} to retry, {self.failed} failed"
        if self.held:
            text += f", {self.held} held for a person"
        if self.unreachable:
            text += f"; server unreachable: {self.unreachable}"
        return text


def backoff(attempts: int, settings: DrainSettings) -> dt.timedelta:
    """Wait before the next try: base × 2^(attempts−1), capped."""
    seconds = settings.backoff_seconds * (2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=min(seconds, settings.backoff_max_seconds))


def due_ids(session: Session, now: dt.datetime, limit: int) -> list[int]:
    """Pending rows whose time has come, oldest first."""
    return list(session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.state == OutboxState.PENDING,
               or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
        .order_by(OutboxMessage.id).limit(limit)
    ))


def _claim(factory: sessionmaker[Session], pk: int, now: dt.datetime,
           settings: DrainSettings) -> tuple[OutboxMessage, str | None] | None:
    """Take the row for one lease, or None if it is not ours to send.

    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL: a row another worker is claiming
    right now is skipped, not waited for; once claimed its lease makes it not
    due. On SQLite writers are serialised (BEGIN IMMEDIATE, store/db.py).
    """
    with transaction(factory) as s:
        row = s.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.id == pk, OutboxMessage.state == OutboxState.PENDING,
                   or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
            .with_for_update(skip_locked=True)
        )
        if row is None:
            return None  # sent, held, failed, or claimed by another pass meanwhile
        row.next_attempt_at = now + dt.timedelta(seconds=settings.lease_seconds)
        case_id = s.scalar(select(Case.case_id).where(Case.id == row.case_pk)) if row.case_pk else None
        return row, case_id


def _record(factory: sessionmaker[Session], pk: int, now: dt.datetime, settings: DrainSettings,
            error: Exception | None, report: DrainReport) -> None:
    with transaction(factory) as s:
        row = s.get_one(OutboxMessage, pk)
        if row.state != OutboxState.PENDING:  # recorded already: a commit whose answer was lost
            return
        if isinstance(error, Unreachable):  # the server's fault, not the mail's: no attempt counted
            row.last_error = str(error)[:4000]
            row.next_attempt_at = now + dt.timedelta(seconds=settings.outage_retry_seconds)
            return
        row.attempts += 1
        if error is None:
            row.state, row.sent_at, row.next_attempt_at, row.last_error = OutboxState.SENT, now, None, None
            report.sent += 1
            return
        row.last_error = str(error)[:4000]
        if isinstance(error, PermanentError):
            row.state, row.next_attempt_at = OutboxState.FAILED, None
            report.failed += 1
            log.warning("outbox %s to %s failed: %s", row.id, row.recipient, error)
            return
        if row.attempts >= settings.max_attempts:  # the server keeps saying "later": ask a person
            row.state, row.next_attempt_at = OutboxState.HELD, None
            row.last_error = f"held after {row.attempts} attempt(s), the server's last answer: {error}"[:4000]
            report.held += 1
            log.warning("outbox %s to %s held for a person after %d attempt(s): %s",
                        row.id, row.recipient, row.attempts, error)
            return
        next_attempt = now + backoff(row.attempts, settings)
        row.next_attempt_at = next_attempt
        report.retrying += 1
        log.info("outbox %s to %s: %s; next try at %s", row.id, row.recipient, error,
                 next_attempt.isoformat())


def _record_sent(factory: sessionmaker[Session], pk: int, now: Callable[[], dt.datetime],
                 settings: DrainSettings, report: DrainReport) -> None:
    """Record that the server accepted the row's mail, again on a new connection while the
    database drops it: an unrecorded send would go out a second time once the lease ends."""
    deadline = time.monotonic() + settings.record_retry_seconds
    wait = 0.2
    while True:
        counted = DrainReport()  # counted only once the record is committed
        try:
            _record(factory, pk, now(), settings, None, counted)
            report.sent += counted.sent
            return
        except DBAPIError as exc:
            if not exc.connection_invalidated or time.monotonic() + wait > deadline:
                raise
            log.warning("outbox %d was sent but the database dropped the connection while recording it; "
                        "recording again in %.1f s", pk, wait)
            time.sleep(wait)
            wait = min(wait * 2, 5.0)


def _postpone_due(factory: sessionmaker[Session], now: dt.datetime, settings: DrainSettings) -> None:
    """The server is down: every due row waits ``outage_retry_seconds`` too (no attempt counted),
    so passes during an outage do not each try the next row and log a line about it."""
    with transaction(factory) as s:
        s.execute(update(OutboxMessage)
                  .where(OutboxMessage.state == OutboxState.PENDING,
                         or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
                  .values(next_attempt_at=now + dt.timedelta(seconds=settings.outage_retry_seconds))
                  .execution_options(synchronize_session=False))


def drain(factory: sessionmaker[Session], sender: Sender, now: Callable[[], dt.datetime],
          settings: DrainSettings) -> DrainReport:
    """Send every due pending row once; return what happened. Safe to run in several workers."""
    report = DrainReport()
    with factory() as s:
        ids = due_ids(s, now(), settings.batch)
    try:
        for pk in ids:
            claimed = _claim(factory, pk, now(), settings)
            if claimed is None:
                continue
            row, case_id = claimed
            try:
                sender.send(row, case_id)
            except Unreachable as exc:
                _record(factory, pk, now(), settings, exc, report)
                _postpone_due(factory, now(), settings)
                report.unreachable = str(exc)
                log.warning("outbox: %s; %d mail(s) wait, next try in %.0f s", exc, len(ids),
                            settings.outage_retry_seconds)
                break
            except (TemporaryError, PermanentError) as exc:
                _record(factory, pk, now(), settings, exc, report)
                continue
            _record_sent(factory, pk, now, settings, report)
            log.info("outbox %d sent: %s to %s%s", pk, row.purpose, row.recipient,
                     f" ({case_id})" if case_id else "", extra={"outbox": pk, "case_id": case_id})
    finally:
        sender.close()
    return report
