"""Repository functions: the only place that knows how rows are found and changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from store.models import (
    Case,
    CaseEvent,
    CaseSequence,
    FolderState,
    MessageLocation,
    OutboxMessage,
    RawMessage,
)
from store.words import TERMINAL_STATES, MessageState


@dataclass(frozen=True)
class Fetched:
    """One message as a source hands it over."""

    account: str
    folder: str
    uidvalidity: int
    uid: str
    internaldate: dt.datetime
    raw: bytes


_CHUNK = 1024 * 1024
_BLANK_LINE = (b"\n\n", b"\r\r", b"\n\r")  # the first of these is where the header block ends


def _head(raw: bytes) -> bytes:
    """The header block (and a few bytes after it): what the header parser reads of the mail.

    Every blank line (two line ends: CRLF, CR or LF) holds one of ``_BLANK_LINE``, and the
    first of them ends the headers, so the parser sees the same headers as on the whole mail,
    without decoding a 30 MB body into a string (and a four-bytes-a-character StringIO).
    """
    ends = [at for at in (raw.find(sep) for sep in _BLANK_LINE) if at != -1]
    return raw[:min(ends) + 3] if ends else raw


def _hash_body(digest: hashlib._Hash, raw: bytes) -> None:
    """Feed ``digest`` the body after the header block, line endings made uniform, trailing
    whitespace dropped, exactly as ``raw[body:].replace(b"\r\n", b"\n").rstrip()`` would,
    a megabyte at a time instead of two whole copies of the body."""
    start = len(raw)
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at != -1:
            start = at + len(sep)
            break
    view = memoryview(raw)
    carry = pending = b""  # a CR that may start a CRLF in the next slice; whitespace not yet known trailing
    for at in range(start, len(raw), _CHUNK):
        data = carry + bytes(view[at:at + _CHUNK])
        carry, data = (b"\r", data[:-1]) if data.endswith(b"\r") else (b"", data)
        text = pending + data.replace(b"\r\n", b"\n")
        kept = text.rstrip()
        digest.update(kept)
        pending = text[len(kept):]


def _dedupe_key(raw: bytes) -> tuple[str | None, str | None]:
    """(Message-ID, key) where key ties copies of one mail that differ only in trace headers.

    A mail delivered to two folders, or re-fetched after UIDVALIDITY changed,
    keeps its Message-ID, From, Subject, Date and body; only headers such as
    Received or Delivered-To (and perhaps line endings) differ. Different mails
    that reuse a Message-ID differ in their body and are kept apart.
    """
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(_head(raw))
        message_id = " ".join(str(headers.get("Message-ID") or "").split()) or None
        if not message_id:
            return None, None
        parts = [message_id, str(headers.get("From") or ""), str(headers.get("Subject") or ""),
                 str(headers.get("Date") or "")]
    except Exception:  # a header we cannot even split: dedupe by sha256 only
        return None, None
    digest = hashlib.sha256("\0".join(" ".join(p.split()) for p in parts).encode("utf-8", "replace"))
    digest.update(b"\0")
    _hash_body(digest, raw)
    return message_id[:998], digest.hexdigest()


def find_location(session: Session, f: Fetched) -> MessageLocation | None:
    """The stored location with these server coordinates, if any."""
    return session.scalar(
        select(MessageLocation).where(
            MessageLocation.account == f.account,
            MessageLocation.folder == f.folder,
            MessageLocation.uidvalidity == f.uidvalidity,
            MessageLocation.uid == f.uid,
        )
    )


def store_raw(session: Session, f: Fetched, now: dt.datetime) -> tuple[RawMessage, bool]:
    """Store a fetched message once; return (row, True if these bytes are new).

    The same mail seen again (same coordinates, same bytes, or the same
    Message-ID/From/Subject/Date in another folder) only gains a location.
    """
    loc = find_location(session, f)
    if loc is not None:
        return loc.message, False
    sha = hashlib.sha256(f.raw).hexdigest()
    message_id, key = _dedupe_key(f.raw)
    existing = session.scalar(select(RawMessage).where(RawMessage.sha256 == sha))
    if existing is None and key is not None:
        existing = session.scalar(
            select(RawMessage).where(RawMessage.dedupe_key == key).order_by(RawMessage.id).limit(1)
        )
    created = False
    if existing is None:
        existing = RawMessage(
            sha256=sha, size=len(f.raw), raw=f.raw, message_id=message_id, dedupe_key=key,
            internaldate=f.internaldate, stored_at=now, state=MessageState.STORED, attempts=0,
        )
        try:
            with session.begin_nested():
                session.add(existing)
            created = True
        except IntegrityError:  # another worker stored the same bytes just now
            existing = session.scalars(select(RawMessage).where(RawMessage.sha256 == sha)).one()
    session.add(MessageLocation(
        message=existing, account=f.account, folder=f.folder, uidvalidity=f.uidvalidity,
        uid=f.uid, seen_at=now,
    ))
    session.flush()
    return existing, created


def _in_folder(account: str, folder: str, uidvalidity: int) -> tuple[ColumnElement[bool], ...]:
    """The conditions for the locations in one folder of one UIDVALIDITY."""
    return (MessageLocation.account == account, MessageLocation.folder == folder,
            MessageLocation.uidvalidity == uidvalidity)


def known_uids(session: Session, account: str, folder: str, uidvalidity: int) -> set[str]:
    """UIDs already stored for a folder (for sources without ordered UIDs, such as Maildir)."""
    return set(session.scalars(
        select(MessageLocation.uid).where(*_in_folder(account, folder, uidvalidity))
    ))


def unacked_uids(session: Session, account: str, folder: str, uidvalidity: int) -> list[str]:
    """UIDs stored but not yet acknowledged on the server (a crash came in between)."""
    return list(session.scalars(
        select(MessageLocation.uid).where(
            *_in_folder(account, folder, uidvalidity), MessageLocation.acked_at.is_(None),
        ).order_by(MessageLocation.id)
    ))


def mark_acked(session: Session, account: str, folder: str, uidvalidity: int,
               uids: list[str], now: dt.datetime) -> None:
    """Record that the server has acknowledged these UIDs."""
    for loc in session.scalars(
        select(MessageLocation).where(
            *_in_folder(account, folder, uidvalidity), MessageLocation.uid.in_(uids),
        )
    ):
        loc.acked_at = now


def folder_state(session: Session, account: str, folder: str) -> FolderState | None:
    """The UIDVALIDITY and highest stored UID we know for a folder."""
    return session.get(FolderState, (account, folder))


def save_folder_state(session: Session, account: str, folder: str, uidvalidity: int,
                      last_uid: int, now: dt.datetime) -> None:
    """Remember the folder's UIDVALIDITY and highest stored UID."""
    state = session.get(FolderState, (account, folder))
    if state is None:
        session.add(FolderState(account=account, folder=folder, uidvalidity=uidvalidity,
                                last_uid=last_uid, updated_at=now))
    else:
        state.uidvalidity, state.last_uid, state.updated_at = uidvalidity, last_uid, now


def next_case_id(session: Session, prefix: str, year: int) -> str:
    """Hand out the next readable case id, e.g. ``PSV-2025-0001``; safe across workers."""
    key = f"{prefix}-{year}"
    seq = session.scalar(select(CaseSequence).where(CaseSequence.prefix == key).with_for_update())
    if seq is None:
        try:
            with session.begin_nested():
                seq = CaseSequence(prefix=key, last=0)
                session.add(seq)
        except IntegrityError:
            seq = session.scalars(
                select(CaseSequence).where(CaseSequence.prefix == key).with_for_update()
            ).one()
    seq.last += 1
    return f"{key}-{seq.last:04d}"


def _claimable(now: dt.datetime) -> ColumnElement[bool]:
    """Waiting to be processed (stored, or failed with a try left) and claimed by no live worker."""
    return (RawMessage.state.in_([MessageState.STORED, MessageState.FAILED])
            & (RawMessage.claimed_until.is_(None) | (RawMessage.claimed_until < now)))


def pending_messages(session: Session, now: dt.datetime, limit: int | None = None) -> list[tuple[int, int]]:
    """(id, attempts) of the messages to process, those tried least first, then by arrival.

    A message retried after a crash (a kill, an out-of-memory) comes after the
    untried ones, so the queue never waits behind it.
    """
    q = (select(RawMessage.id, RawMessage.attempts).where(_claimable(now))
         .order_by(RawMessage.attempts, RawMessage.internaldate, RawMessage.id))
    if limit:
        q = q.limit(limit)
    return [(pk, attempts) for pk, attempts in session.execute(q)]


def pending_message_ids(session: Session, now: dt.datetime, limit: int | None = None) -> list[int]:
    """The ids of :func:`pending_messages`, in its order."""
    return [pk for pk, _ in pending_messages(session, now, limit)]


def claim_message(session: Session, pk: int, now: dt.datetime, until: dt.datetime,
                  token: str) -> RawMessage | None:
    """Claim a message for one worker until ``until`` and count the attempt; None if not claimable.

    On PostgreSQL the row is taken with ``FOR UPDATE SKIP LOCKED``: of two workers
    claiming at once one gets it, the other None. The caller commits at once.
    """
    # without the raw bytes: a 30 MB mail's row is not held to count an attempt (load_raw reads them)
    q = select(RawMessage).where(RawMessage.id == pk, _claimable(now)).options(defer(RawMessage.raw))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    msg = session.scalar(q)
    if msg is None:
        return None
    msg.attempts += 1
    msg.claimed_until, msg.claim_token = until, token
    return msg


def lock_message(session: Session, pk: int) -> RawMessage | None:
    """Load a message and lock its row (PostgreSQL) to record the result of processing it.

    The raw bytes are not loaded (``msg.raw`` would load them at once; :func:`load_raw` in slices).
    """
    q = select(RawMessage).where(RawMessage.id == pk).options(defer(RawMessage.raw))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    return session.scalar(q)


#: Raw bytes come from PostgreSQL in slices of this size: a bytea arrives as hex text, twice its
#: size, and a whole 30 MB mail at once held the text, the driver's result and the bytes together.
RAW_SLICE = 4 * 1024 * 1024


def load_raw(session: Session, pk: int) -> bytes | bytearray:
    """The raw bytes of message ``pk`` (b"" if there is none), read without a copy of the row.

    SQLite reads the blob directly (incremental blob I/O); PostgreSQL in ``RAW_SLICE`` slices
    into one bytearray (joining them into bytes would hold the mail twice).
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        try:
            with driver.blobopen("raw_message", "raw", pk, readonly=True) as blob:  # type: ignore[union-attr]
                data: bytes = blob.read()
                return data
        except sqlite3.OperationalError as exc:
            if "no such rowid" in str(exc):
                return b""
            raise
    # the length, and the bytes of a mail of one slice, in one round trip (most mail)
    length = func.length(RawMessage.raw)
    row = session.execute(select(length, case((length <= RAW_SLICE, RawMessage.raw)))
                          .where(RawMessage.id == pk)).one_or_none()
    if row is None:
        return b""
    size, whole = row
    if whole is not None:
        return bytes(whole)
    raw = bytearray(size)
    for start in range(0, size, RAW_SLICE):
        part = session.scalar(select(func.substring(RawMessage.raw, start + 1, RAW_SLICE))
                              .where(RawMessage.id == pk))
        raw[start:start + RAW_SLICE] = part or b""
    return raw


def release_claim(session: Session, pk: int, token: str, give_back: bool = False) -> bool:
    """End a worker's claim (if still its own); ``give_back`` uncounts the attempt. True if it was."""
    msg = lock_message(session, pk)
    if msg is None or msg.claim_token != token:
        return False
    msg.claimed_until, msg.claim_token = None, None
    if give_back and msg.attempts > 0:
        msg.attempts -= 1
    return True


def cases_for_references(session: Session, refs: list[str], tags: list[str]) -> dict[str, str]:
    """Map message ids (ours or the applicant's) and case tags onto existing case ids."""
    found: dict[str, str] = {}
    if tags:
        for cid in session.scalars(select(Case.case_id).where(Case.case_id.in_(tags))):
            found[cid] = cid
    if refs:
        rows = session.execute(
            select(OutboxMessage.message_id, Case.case_id)
            .join(Case, Case.id == OutboxMessage.case_pk)
            .where(OutboxMessage.message_id.in_(refs))
        )
        found.update({mid: cid for mid, cid in rows})
        rows = session.execute(
            select(RawMessage.message_id, Case.case_id)
            .join(Case, Case.id == RawMessage.case_pk)
            .where(RawMessage.message_id.in_(refs))
        )
        found.update({mid: cid for mid, cid in rows})
    return found


def unfinished_earlier(session: Session, refs: list[str], msg: RawMessage) -> RawMessage | None:
    """A mail that ``msg`` answers (by Message-ID), stored before it and not processed yet.

    Another worker may hold it, uncommitted: routing ``msg`` now would miss its case.
    Only earlier mail counts (by arrival, then storage order), so two mails that name
    each other can never wait for each other.
    """
    if not refs:
        return None
    earlier = (RawMessage.internaldate < msg.internaldate) | (
        (RawMessage.internaldate == msg.internaldate) & (RawMessage.id < msg.id))
    return session.scalar(
        select(RawMessage).where(RawMessage.message_id.in_(refs), RawMessage.id != msg.id,
                                 RawMessage.state.not_in(TERMINAL_STATES), earlier)
        .order_by(RawMessage.id).limit(1))


def get_case(session: Session, case_id: str) -> Case | None:
    """A case by its readable id (case-insensitive)."""
    return session.scalar(select(Case).where(func.upper(Case.case_id) == case_id.upper()))


def add_event(session: Session, case: Case, kind: str, detail: str, now: dt.datetime,
              message: RawMessage | None = None) -> None:
    """Append to a case's history."""
    session.add(CaseEvent(case=case, at=now, kind=kind, detail=detail,
                          message_pk=message.id if message is not None else None))


