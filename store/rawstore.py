"""Storing a fetched batch of raw mail: set-based duplicate checks and bulk inserts.

One batch is one transaction (the caller's): three SELECTs find what is known
(server positions, identical bytes, the same mail under another position),
then INSERT … ON CONFLICT DO NOTHING for the new messages (one statement per
``INSERT_BYTES`` of mail, a large mail alone) and one for their positions. A row
another worker inserted a moment earlier is then a no-op, not a duplicate-key
error: the race is lost quietly and its row used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import MessageLocation, RawMessage
from store.repository import Fetched, _dedupe_key
from store.words import MessageState


@dataclass(frozen=True)
class Stored:
    """What became of one fetched message: its raw message row, and whether its bytes are new."""

    uid: str
    message_pk: int
    size: int
    created: bool


def _insert(session: Session, table: Any) -> Any:
    """INSERT for this database that can say ON CONFLICT DO NOTHING."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))


#: One INSERT carries at most this many bytes of mail (a larger mail goes alone): the driver
#: builds a statement's parameters in memory all at once, a copy of every mail in it.
INSERT_BYTES = 8 * 1024 * 1024


def _by_size(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``rows`` in order, in groups of at most ``INSERT_BYTES`` of raw bytes (or one row)."""
    groups: list[list[dict[str, Any]]] = []
    size = 0
    for row in rows:
        if not groups or size + row["size"] > INSERT_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(row)
        size += row["size"]
    return groups


def store_batch(session: Session, batch: list[Fetched], now: dt.datetime) -> list[Stored]:
    """Store every message of ``batch`` once (in the caller's transaction); one result each, in order.

    The same mail seen again (same position, same bytes, or the same
    Message-ID/From/Subject/Date with another position) only gains a position.
    """
    if not batch:
        return []
    first = batch[0]
    known = dict(session.execute(
        select(MessageLocation.uid, MessageLocation.message_pk).where(
            MessageLocation.account == first.account, MessageLocation.folder == first.folder,
            MessageLocation.uidvalidity == first.uidvalidity,
            MessageLocation.uid.in_([f.uid for f in batch]))).all())
    fresh = [f for f in batch if f.uid not in known]
    shas = {f.uid: hashlib.sha256(f.raw).hexdigest() for f in fresh}
    keys = {f.uid: _dedupe_key(f.raw) for f in fresh}
    by_sha: dict[str, int] = {}
    if fresh:
        by_sha = dict(session.execute(select(RawMessage.sha256, RawMessage.id)
                                      .where(RawMessage.sha256.in_(set(shas.values())))).all())
    wanted_keys = {k for _, k in keys.values() if k is not None}
    by_key: dict[str, int] = {}
    if wanted_keys:
        by_key = {key: pk for key, pk in session.execute(
            select(RawMessage.dedupe_key, func.min(RawMessage.id))
            .where(RawMessage.dedupe_key.in_(wanted_keys)).group_by(RawMessage.dedupe_key)) if key}
    new_rows: dict[str, dict[str, Any]] = {}  # by sha256; a batch may hold one mail twice
    for f in fresh:
        sha, (message_id, key) = shas[f.uid], keys[f.uid]
        if sha in by_sha or sha in new_rows or (key is not None and key in by_key):
            continue
        new_rows[sha] = dict(sha256=sha, size=len(f.raw), raw=f.raw, message_id=message_id,
                             dedupe_key=key, internaldate=f.internaldate, stored_at=now,
                             state=MessageState.STORED, attempts=0)
        if key is not None:
            by_key[key] = -1  # later copies in this batch join the first one (resolved below)
    created: set[str] = set()
    if new_rows:
        inserted: list[Any] = []
        for rows in _by_size(list(new_rows.values())):
            inserted += session.execute(
                _insert(session, RawMessage).on_conflict_do_nothing(index_elements=["sha256"])
                .returning(RawMessage.sha256, RawMessage.id), rows).all()
        for sha, pk in inserted:
            by_sha[sha] = pk
            created.add(sha)
        lost = [sha for sha in new_rows if sha not in by_sha]  # another worker stored them just now
        if lost:
            by_sha.update(dict(session.execute(select(RawMessage.sha256, RawMessage.id)
                                               .where(RawMessage.sha256.in_(lost))).all()))
        for sha, row in new_rows.items():
            if row["dedupe_key"] is not None and by_key.get(row["dedupe_key"]) == -1:
                by_key[row["dedupe_key"]] = by_sha[sha]
    results: list[Stored] = []
    locations: list[dict[str, Any]] = []
    for f in batch:
        if f.uid in known:
            results.append(Stored(f.uid, known[f.uid], len(f.raw), False))
            continue
        sha, (_, key) = shas[f.uid], keys[f.uid]
        pk = by_sha.get(sha) or by_key[key]  # type: ignore[index]  # one of the two is set above
        is_new = sha in created
        created.discard(sha)  # a second copy in the same batch is a duplicate
        known[f.uid] = pk
        results.append(Stored(f.uid, pk, len(f.raw), is_new))
        locations.append(dict(message_pk=pk, account=f.account, folder=f.folder,
                              uidvalidity=f.uidvalidity, uid=f.uid, seen_at=now))
    if locations:
        session.execute(_insert(session, MessageLocation).on_conflict_do_nothing(
            index_elements=["account", "folder", "uidvalidity", "uid"]), locations)
    return results
