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
from collections import Counter, deque
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from intake import progress, routing
from intake.cases import reading
from intake.cases.context import (
    AnswersUnfinished,
    CaseChange,
    Context,
    MailUnreadable,
    NeedRead,
    Reads,
    unread_extraction,
)
from intake.cases.reading import Reader, ReadFailed, ReadStopped
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
#: ... and when the mail answers an earlier one that is not processed yet (it goes after it).
WAITING = "waiting"


def _clock() -> dt.datetime:
    """Claims are leases in real time, whatever clock the business rules are given."""
    return dt.datetime.now(dt.UTC)


def transient(exc: BaseException) -> bool:
    """True for a database that went away (a restart, a dropped connection): not the mail's fault."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass
class _Claimed:
    """A message this worker claimed: what reading it needs."""

    pk: int
    token: str
    raw: bytes | bytearray  # dropped once sent to a reader (not held while recording)
    readable: bool  # False: too large to read, never parsed
    received_at: dt.datetime
    kind: str | None  # what to read its attachments as ahead: None guess by subject, "" nothing
    alone: bool  # tried before (a kill, a timeout?): read with no other message in flight


def process_pending(ctx: Context, limit: int | None = None,
                    stop: threading.Event | None = None) -> Counter[str]:
    """Process every stored (or retryable failed) message until ``stop``; return counts by result.

    With ``[processing] readers`` above 1 the next messages are claimed and read ahead by the
    other readers while the one in hand is recorded; results are recorded in the queue's order.
    A message tried before is read with no other in flight, so a kill while reading it costs
    no other message an attempt. Raise :class:`~intake.errors.TemporaryFailure` when the
    database went away.
    """
    _settle_owed(ctx)
    try:
        with ctx.factory() as s:
            queue = deque(repo.pending_messages(s, _clock(), limit))
    except Exception as exc:
        if transient(exc):
            raise TemporaryFailure(f"database unreachable: {_first_line(exc)}") from None
        raise
    results: Counter[str] = Counter()
    if not queue:
        return results
    readers = ctx.readers or reading.open_readers(ctx.settings, ctx.pool)
    free = list(reversed(readers))
    window: deque[tuple[_Claimed, Reader]] = deque()
    in_hand = 0  # the message a stop left unread
    waiting = 0  # mails that answer one not processed yet
    try:
        with progress.track("processing", len(queue)) as bar:
            while True:
                while free and queue and not (stop is not None and stop.is_set()):
                    if window and (window[0][0].alone or queue[0][1] > 0):
                        break
                    pk, _ = queue.popleft()
                    claimed = _claim_counted(ctx, pk)
                    if not isinstance(claimed, _Claimed):
                        results[claimed] += 1
                        bar.advance()
                        continue
                    reader = free.pop()
                    reader.begin(stop)
                    if claimed.readable:
                        reader.submit("read", (claimed.raw, ctx.settings.processing.sizes,
                                               claimed.received_at, claimed.kind))
                        claimed.raw = b""  # the reader has it: not kept while others are recorded
                    window.append((claimed, reader))
                if not window:
                    break
                claimed, reader = window.popleft()
                outcome = _read_and_record(ctx, claimed, reader, ahead=True)
                free.append(reader)
                if outcome == STOPPED:
                    in_hand = 1
                    break
                results[outcome] += 1
                bar.advance()
                if stop is not None and stop.is_set():  # the message in hand is done: stop
                    break
                if outcome == WAITING:
                    waiting += 1
    finally:
        for claimed, reader in window:  # read ahead but not recorded (a stop, the database away)
            reader.abandon()
            _give_back(ctx, claimed.pk, claimed.token)
        if queue or window or in_hand:
            log.info("stopping: %d message(s) left for the next start", len(queue) + len(window) + in_hand)
        if readers is not ctx.readers:
            for reader in readers:
                reader.close()
    progress_made = sum(n for outcome, n in results.items() if outcome not in (WAITING, "skipped"))
    if waiting and progress_made and not (stop is not None and stop.is_set()):
        # the mails they answer may be done now (this pass finished some): once more for them
        results.update(process_pending(ctx, limit, stop))
    return results


def process_one(ctx: Context, pk: int, reader: Reader | None = None,
                stop: threading.Event | None = None) -> str:
    """Process one message; return its outcome, its failure state, ``skipped`` or ``stopped``."""
    own = reader is None and not ctx.readers
    reader = reader or (ctx.readers[0] if ctx.readers else reading.open_reader(ctx.settings, ctx.pool))
    try:
        claimed = _claim_counted(ctx, pk)
        if not isinstance(claimed, _Claimed):
            return claimed
        reader.begin(stop)
        return _read_and_record(ctx, claimed, reader, ahead=False)
    finally:
        if own:
            reader.close()


def _claim_counted(ctx: Context, pk: int) -> _Claimed | str:
    """Claim a message and count the attempt; else ``skipped`` or ``quarantined``."""
    try:
        return _claim(ctx, pk, uuid.uuid4().hex) or "skipped"
    except Exception as exc:
        if transient(exc):  # nothing was counted: the claim's transaction did not commit
            raise TemporaryFailure(f"database unreachable: {_first_line(exc)}") from None
        raise


def _first_reads(ctx: Context, claimed: _Claimed, reads: Reads, ahead: bool) -> None:
    """The mail's own bytes first (too large a mail is never parsed); ``ahead``: collect what a
    reader read ahead: the mail, then its attachments as the kind it guessed."""
    sizes = ctx.settings.processing.sizes
    if not claimed.readable:
        return
    if not ahead:
        try:
            reads.parse(claimed.pk, claimed.raw, sizes, own=True)
        except NeedRead as need:
            reads.fetch(need)
        return
    try:
        mail, kind = reads.reader.collect()
    except ReadFailed as exc:
        raise MailUnreadable(f"reading the mail stopped ({exc.limit} limit): {exc}") from None
    reads.keep_parse(claimed.pk, sizes, mail)
    if kind is not None:
        try:
            result = reads.reader.collect()
        except ReadFailed as exc:
            result = unread_extraction(ctx, mail, kind, claimed.received_at, (), exc, claimed.pk)
        reads.keep_extract(mail, kind, claimed.received_at, result)


def _read_and_record(ctx: Context, claimed: _Claimed, reader: Reader, ahead: bool) -> str:
    """Read (no transaction open) and record a claimed message; its outcome."""
    pk, token = claimed.pk, claimed.token
    reads = Reads(reader, pk)
    mctx = dataclasses.replace(ctx, reads=reads)
    try:
        _first_reads(ctx, claimed, reads, ahead)
        claimed.raw = b""  # read: recording needs the parse, not the bytes
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
    except AnswersUnfinished as exc:  # no attempt: it is routed when the mail it answers is done
        _give_back(ctx, pk, token)
        log.info("message %d waits: %s", pk, exc, extra={"mail": pk})
        return WAITING
    except MailUnreadable as exc:
        return _end(ctx, pk, token, MessageState.QUARANTINED, str(exc))
    except Exception as exc:
        if transient(exc):
            _give_back(ctx, pk, token)
            raise TemporaryFailure(f"database unreachable while processing message {pk}: "
                                   f"{_first_line(exc)}") from None
        return _failed(ctx, pk, token, exc)


def _claim(ctx: Context, pk: int, token: str) -> _Claimed | str | None:
    """Claim and count the attempt; what reading it needs, ``quarantined`` when every attempt
    began and none finished, None when not claimable."""
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
        chosen = msg.staff_route or {}
        kind = None if not chosen else ("" if chosen.get("case_id") else str(chosen.get("kind") or ""))
        readable = msg.size <= limits.max_message_bytes
        s.flush()  # SQLite rewrites the whole row (blob and all) on an UPDATE: before the bytes are held
        return _Claimed(pk=pk, token=token, raw=repo.load_raw(s, pk) if readable else b"", readable=readable,
                        received_at=msg.internaldate, kind=kind, alone=msg.attempts > 1)


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
