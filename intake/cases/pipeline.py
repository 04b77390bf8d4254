"""Processing stored mail: claim a message, read it in a child process, record the result.

Each message goes through three steps:

1. a short committed transaction *claims* it (``repository.claim_message``: a
   lease of ``[processing] claim_seconds``, ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL) and counts the attempt, so a kill, an out-of-memory or a timeout
   counts too; a message whose ``max_attempts`` all began and none finished is
   quarantined with that reason instead;
2. the mail is read (parsed, its attachments extracted) in the child process of
   :mod:`intake.cases.reading`, with no transaction open;
3. one transaction records the result (:mod:`intake.cases.recording`), the row
   locked again and the claim checked and cleared.

An error rolls that message back and records it; after ``max_attempts`` the
message is quarantined for a person. A database that went away counts no
attempt: the attempt is given back and the pass stops (``TemporaryFailure``).
A stop (SIGTERM) ends the pass between messages; a read in progress gets
``reading.STOP_GRACE_SECONDS``, then its message is left, uncounted, for the
next start. Nothing here talks to a mail server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import traceback
import uuid
from collections import Counter

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from intake import progress, routing
from intake.cases import reading
from intake.cases.context import CaseChange, Context, MailUnreadable, NeedRead, Reads
from intake.cases.reading import Reader, ReadStopped
from intake.cases.recording import record, staff_route
from intake.errors import TemporaryFailure
from store import repository as repo
from store.db import transaction
from store.models import RawMessage
from store.words import MessageState

__all__ = ["CaseChange", "Context", "process_one", "process_pending", "reset_for_reprocess",
           "routing", "staff_route"]

log = logging.getLogger(__name__)

#: A message needs a few reads (the mail, its attachments, perhaps an earlier mail's files).
MAX_READS = 8
#: What ``process_one`` returns when a stop left the message for the next start.
STOPPED = "stopped"


def _clock() -> dt.datetime:
    """Claims are leases in real time, whatever clock the business rules are given."""
    return dt.datetime.now(dt.UTC)


def transient(exc: BaseException) -> bool:
    """True for a database that went away (a restart, a dropped connection): not the mail's fault."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def process_pending(ctx: Context, limit: int | None = None,
                    stop: threading.Event | None = None) -> Counter[str]:
    """Process every stored (or retryable failed) message until ``stop``; return counts by result.

    Raise :class:`~intake.errors.TemporaryFailure` when the database went away.
    """
    _settle_owed(ctx)
    try:
        with ctx.factory() as s:
            ids = repo.pending_message_ids(s, _clock(), limit)
    except Exception as exc:
        if transient(exc):
            raise TemporaryFailure(f"database unreachable: {_first_line(exc)}") from None
        raise
    results: Counter[str] = Counter()
    if not ids:
        return results
    reader = ctx.reader or reading.open_reader(ctx.settings, ctx.pool)
    try:
        with progress.track("processing", len(ids)) as bar:
            for done, pk in enumerate(ids):
                if stop is not None and stop.is_set():
                    log.info("stopping: %d message(s) left for the next start", len(ids) - done)
                    break
                outcome = process_one(ctx, pk, reader, stop)
                if outcome == STOPPED:
                    log.info("stopping: %d message(s) left for the next start", len(ids) - done)
                    break
                results[outcome] += 1
                bar.advance()
    finally:
        if reader is not ctx.reader:
            reader.close()
    return results


def process_one(ctx: Context, pk: int, reader: Reader | None = None,
                stop: threading.Event | None = None) -> str:
    """Process one message; return its outcome, its failure state, ``skipped`` or ``stopped``."""
    own = reader is None and ctx.reader is None
    reader = reader or ctx.reader or reading.open_reader(ctx.settings, ctx.pool)
    try:
        return _process(ctx, pk, reader, stop)
    finally:
        if own:
            reader.close()


def _process(ctx: Context, pk: int, reader: Reader, stop: threading.Event | None) -> str:
    token = uuid.uuid4().hex
    limits = ctx.settings.processing
    try:
        claimed = _claim(ctx, pk, token)
    except Exception as exc:
        if transient(exc):  # nothing was counted: the claim's transaction did not commit
            raise TemporaryFailure(f"database unreachable: {_first_line(exc)}") from None
        raise
    if not isinstance(claimed, bytes):
        return claimed or "skipped"
    reader.begin(stop)
    reads = Reads(reader)
    mctx = dataclasses.replace(ctx, reads=reads)
    try:
        if claimed:  # the mail's own bytes first; too large a mail is never parsed
            try:
                reads.parse(pk, claimed, limits.sizes, own=True)
            except NeedRead as need:
                reads.fetch(need)
        del claimed
        for _ in range(MAX_READS):
            try:
                return _record(mctx, pk, token)
            except NeedRead as need:  # rolled back; read with no transaction open, then again
                reads.fetch(need)
        raise RuntimeError(f"recording asked for more than {MAX_READS} reads")
    except ReadStopped:
        _give_back(ctx, pk, token)
        log.info("message %d: stopped while reading it; left for the next start", pk, extra={"mail": pk})
        return STOPPED
    except MailUnreadable as exc:
        return _end(ctx, pk, token, MessageState.QUARANTINED, str(exc))
    except Exception as exc:
        if transient(exc):
            _give_back(ctx, pk, token)
            raise TemporaryFailure(f"database unreachable while processing message {pk}: "
                                   f"{_first_line(exc)}") from None
        return _failed(ctx, pk, token, exc)


def _claim(ctx: Context, pk: int, token: str) -> bytes | str | None:
    """Claim and count the attempt; the raw bytes to read (b"" for a mail too large to read),
    ``quarantined`` when every attempt began and none finished, None when not claimable."""
    limits = ctx.settings.processing
    now = _clock()
    with transaction(ctx.factory) as s:
        msg = repo.claim_message(s, pk, now, now + dt.timedelta(seconds=limits.claim_seconds), token)
        if msg is None:
            return None
        if msg.attempts > limits.max_attempts:
            msg.attempts -= 1  # not tried again: this claim is no attempt
            msg.state = MessageState.QUARANTINED
            msg.claimed_until, msg.claim_token = None, None
            msg.reason = (f"gave up after {msg.attempts} attempts; the last one did not finish "
                          "(killed or timed out)")
            msg.last_error = msg.reason
            log.warning("message %d quarantined: %s (pulje-intake quarantine show %d)", pk, msg.reason, pk,
                        extra={"mail": pk})
            return MessageState.QUARANTINED
        return msg.raw if msg.size <= limits.max_message_bytes else b""


def _record(ctx: Context, pk: int, token: str) -> str:
    """One transaction: the row locked again, our claim checked, the result recorded, the claim cleared."""
    with transaction(ctx.factory) as s:
        msg = repo.lock_message(s, pk)
        if msg is None or msg.claim_token != token:
            log.warning("message %d: our claim ran out and another worker has it; leaving it", pk,
                        extra={"mail": pk})
            return "skipped"
        outcome = record(s, ctx, msg)
        msg.claimed_until, msg.claim_token = None, None
        case_id = msg.case.case_id if msg.case is not None else None
        reason = msg.reason
    # one line per mail, once the result is committed
    where = f"{outcome} {case_id}" if case_id else outcome
    log.info("message %d → %s: %s", pk, where, reason, extra={"mail": pk, "case_id": case_id})
    return outcome


def _failed(ctx: Context, pk: int, token: str, exc: Exception) -> str:
    """Record a failed attempt (counted when it was claimed); quarantine after the last one."""
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if type(exc).__name__ == "ReadCrashed":  # the child's own exception, already as text
        error = str(exc)
    log.warning("message %s failed: %s", pk, error, extra={"mail": pk})
    log.debug("message %s traceback:\n%s", pk, traceback.format_exc())
    with transaction(ctx.factory) as s:
        msg = repo.lock_message(s, pk)
        if msg is None or msg.claim_token != token:
            return "skipped"
        msg.claimed_until, msg.claim_token = None, None
        msg.last_error = error[:4000]
        if msg.attempts >= ctx.settings.processing.max_attempts:
            msg.state = MessageState.QUARANTINED
            msg.reason = f"quarantined after {msg.attempts} failed attempts: {error[:500]}"
            log.warning("message %s quarantined after %d failed attempts (pulje-intake quarantine show %s)",
                        pk, msg.attempts, pk, extra={"mail": pk})
        else:
            msg.state = MessageState.FAILED
        return msg.state


def _end(ctx: Context, pk: int, token: str, state: MessageState, reason: str) -> str:
    """A terminal state with its reason (a mail that could not even be parsed within the limits)."""
    log.warning("message %d %s: %s (pulje-intake quarantine show %d)", pk, state, reason, pk,
                extra={"mail": pk})
    with transaction(ctx.factory) as s:
        msg = repo.lock_message(s, pk)
        if msg is None or msg.claim_token != token:
            return "skipped"
        msg.claimed_until, msg.claim_token = None, None
        msg.state, msg.reason, msg.last_error = state, reason, reason
    return state


def _give_back(ctx: Context, pk: int, token: str) -> None:
    """Uncount an attempt that was not the mail's fault; if the database is away, try again next pass."""
    ctx.owed[pk] = token
    _settle_owed(ctx)


def _settle_owed(ctx: Context) -> None:
    """Give back the attempts owed (best effort: the claims expire anyway)."""
    for pk, token in list(ctx.owed.items()):
        try:
            with transaction(ctx.factory) as s:
                repo.release_claim(s, pk, token, give_back=True)
        except Exception as exc:
            log.debug("message %d: attempt not given back yet: %s", pk, _first_line(exc))
            return
        ctx.owed.pop(pk, None)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def reset_for_reprocess(messages: list[RawMessage]) -> None:
    """Put messages back to ``stored`` so the pure steps run on them again."""
    for msg in messages:
        msg.state = MessageState.STORED
        msg.attempts = 0
        msg.last_error = None
        msg.claimed_until, msg.claim_token = None, None
