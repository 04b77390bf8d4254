"""The worker's health in the database: the last fetch per folder, what waits, the outbox backlog.

The fetch loop records the outcome of every folder it fetched
(:func:`record_fetch`); ``pulje-intake status`` reads the rest from the tables
the worker keeps anyway (messages, outbox, job states).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import FetchStatus, JobState, OutboxMessage, RawMessage
from store.words import MessageState, OutboxState


def record_fetch(session: Session, account: str, folder: str, now: dt.datetime,
                 error: str | None = None) -> None:
    """A fetch of one folder succeeded (``error`` None) or failed with ``error``."""
    row = session.get(FetchStatus, (account, folder))
    if row is None:
        row = FetchStatus(account=account, folder=folder)
        session.add(row)
    if error is None:
        row.last_success_at, row.failing_since = now, None
    else:
        row.last_error_at, row.last_error = now, error[:2000]
        row.failing_since = row.failing_since or now


def fetch_status(session: Session, account: str, folder: str) -> FetchStatus | None:
    """What is known of one folder's fetching."""
    return session.get(FetchStatus, (account, folder))


@dataclass(frozen=True)
class MessageCounts:
    """Stored mail that is not done yet."""

    waiting: int  # stored, or failed with tries left: the next pass takes them
    failing: int  # of those, the ones that failed before
    quarantined: int
    quarantined_unseen: int  # no person has looked at them yet


def message_counts(session: Session, max_attempts: int) -> MessageCounts:
    """Count mail by where it stands."""
    def count(*where: object) -> int:
        return session.scalar(select(func.count()).select_from(RawMessage).where(*where)) or 0  # type: ignore[arg-type]

    failing = count(RawMessage.state == MessageState.FAILED, RawMessage.attempts < max_attempts)
    return MessageCounts(
        waiting=count(RawMessage.state == MessageState.STORED) + failing,
        failing=failing,
        quarantined=count(RawMessage.state == MessageState.QUARANTINED),
        quarantined_unseen=count(RawMessage.state == MessageState.QUARANTINED,
                                 RawMessage.quarantine_seen_at.is_(None)),
    )


@dataclass(frozen=True)
class OutboxCounts:
    """Mail we still owe, and mail we gave up on."""

    pending: int
    failed: int
    held: int  # 4xx max_attempts times: waits for a person
    oldest_pending_at: dt.datetime | None  # when the oldest unsent mail was queued
    next_attempt_at: dt.datetime | None  # the next pending mail's turn


def outbox_counts(session: Session) -> OutboxCounts:
    """Count the outbox by state."""
    pending = OutboxMessage.state == OutboxState.PENDING
    row = session.execute(select(func.count(), func.min(OutboxMessage.created_at),
                                 func.min(OutboxMessage.next_attempt_at)).where(pending)).one()
    failed = session.scalar(select(func.count()).where(OutboxMessage.state == OutboxState.FAILED)) or 0
    held = session.scalar(select(func.count()).where(OutboxMessage.state == OutboxState.HELD)) or 0
    return OutboxCounts(pending=row[0], failed=failed, held=held, oldest_pending_at=_aware(row[1]),
                        next_attempt_at=_aware(row[2]))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """An aggregate bypasses the column type: SQLite hands back a naive UTC time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def job_last_run(session: Session, name: str) -> dt.datetime | None:
    """When the job ``name`` (``digest``, ``reminders``) last ran, or None."""
    state = session.get(JobState, name)
    return state.last_run_at if state is not None else None


def quarantined(session: Session) -> list[RawMessage]:
    """Quarantined mail, oldest first."""
    return list(session.scalars(select(RawMessage).where(RawMessage.state == MessageState.QUARANTINED)
                                .order_by(RawMessage.internaldate, RawMessage.id)))
