"""The fetch loop: source → raw store → acknowledgement, in that order.

Raw bytes are committed before the server hears anything (one transaction per
fetched batch), then the batch is acknowledged in one command; acknowledgements
a crash prevented are sent at the start of the next pass.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from intake.errors import IntakeError
from intake.sources import Source
from store import health, locks, rawstore
from store import repository as repo
from store.db import transaction

log = logging.getLogger(__name__)


@dataclass
class FetchStats:
    """What one fetch pass did."""

    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    acked: int = 0


def _is_numeric(uid: str) -> bool:
    return uid.isdigit()


def fetch_folder(source: Source, folder: str, factory: sessionmaker[Session],
                 now: Callable[[], dt.datetime], stats: FetchStats) -> bool:
    """Store every new message of one folder, then acknowledge it; False if another worker has it.

    On PostgreSQL several workers may run: one fetches a folder at a time (an
    advisory lock, ``store/locks.py``); the others skip it for this pass.
    """
    with locks.folder_lock(factory.kw["bind"], source.account, folder) as mine:
        if not mine:
            log.debug("%s/%s: another worker is fetching this folder; skipped this pass",
                      source.account, folder, extra={"source": source.account, "folder": folder})
            return False
        _fetch_folder(source, folder, factory, now, stats)
    return True


def _fetch_folder(source: Source, folder: str, factory: sessionmaker[Session],
                  now: Callable[[], dt.datetime], stats: FetchStats) -> None:
    uidvalidity = source.select(folder)
    with transaction(factory) as s:
        state = repo.folder_state(s, source.account, folder)
        known_uidvalidity = state.uidvalidity if state is not None else None
        last_uid = 0
        if state is not None:
            if state.uidvalidity == uidvalidity:
                last_uid = state.last_uid
            else:
                log.warning("%s/%s: UIDVALIDITY changed %s → %s; rescanning, content dedupe applies",
                            source.account, folder, state.uidvalidity, uidvalidity)
        pending_acks = repo.unacked_uids(s, source.account, folder, uidvalidity)
    if pending_acks:
        log.info("%s/%s: acknowledging %d message(s) stored before an interruption",
                 source.account, folder, len(pending_acks))
        _ack(source, folder, uidvalidity, pending_acks, factory, now, stats)

    def known() -> set[str]:
        with factory() as s:
            return repo.known_uids(s, source.account, folder, uidvalidity)

    for batch in source.fetch_new(folder, last_uid, known):
        # one transaction per batch: set-based duplicate checks, bulk inserts, one commit
        with transaction(factory) as s:
            stored = rawstore.store_batch(s, batch, now())
            for fetched in batch:
                if _is_numeric(fetched.uid):
                    last_uid = max(last_uid, int(fetched.uid))
            repo.save_folder_state(s, source.account, folder, uidvalidity, last_uid, now())
        for st in stored:  # logged once committed
            stats.seen += 1
            stats.stored += st.created
            stats.duplicates += not st.created
            log.info("%s/%s: UID %s %s message %d (%d bytes)", source.account, folder, st.uid,
                     "stored as" if st.created else "is already stored as", st.message_pk, st.size,
                     extra={"source": source.account, "folder": folder, "mail": st.message_pk})
        _ack(source, folder, uidvalidity, [st.uid for st in stored], factory, now, stats)
    if known_uidvalidity != uidvalidity:
        # an empty (or recreated, still empty) folder: remember its UIDVALIDITY now,
        # or every pass would warn about the same change again
        with transaction(factory) as s:
            current = repo.folder_state(s, source.account, folder)
            if current is None or current.uidvalidity != uidvalidity:
                repo.save_folder_state(s, source.account, folder, uidvalidity, last_uid, now())


def _ack(source: Source, folder: str, uidvalidity: int, uids: list[str],
         factory: sessionmaker[Session], now: Callable[[], dt.datetime], stats: FetchStats) -> None:
    source.ack(folder, uids)
    with transaction(factory) as s:
        repo.mark_acked(s, source.account, folder, uidvalidity, uids, now())
    stats.acked += len(uids)


def fetch_all(source: Source, factory: sessionmaker[Session], now: Callable[[], dt.datetime]) -> FetchStats:
    """One pass over every folder of a source; each folder's outcome is recorded for ``status``."""
    stats = FetchStats()
    folders = list(source.folders())
    for i, folder in enumerate(folders):
        try:
            fetched = fetch_folder(source, folder, factory, now, stats)
        except Exception as exc:  # this folder and the ones not reached failed
            why = str(exc) if isinstance(exc, IntakeError) else f"{type(exc).__name__}: {exc}"
            _record(factory, source.account, folders[i:], now(), why)
            raise
        if fetched:  # a folder another worker had is recorded by that worker
            _record(factory, source.account, [folder], now(), None)
    return stats


def _record(factory: sessionmaker[Session], account: str, folders: list[str], now: dt.datetime,
            error: str | None) -> None:
    try:
        with transaction(factory) as s:
            for folder in folders:
                health.record_fetch(s, account, folder, now, error)
    except Exception:  # the database may be what failed; the fetch's own error matters more
        log.debug("%s: could not record the fetch", account, exc_info=True)
