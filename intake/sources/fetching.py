"""The fetch loop: source → raw store → acknowledgement, in that order.

Raw bytes are committed before the server hears anything; acknowledgements a
crash prevented are sent at the start of the next pass.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from intake.errors import IntakeError
from intake.sources import Source
from store import health
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
                 now: Callable[[], dt.datetime], stats: FetchStats) -> None:
    """Store every new message of one folder, then acknowledge it on the server."""
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
        uids: list[str] = []
        stored: list[tuple[str, int, int, bool]] = []  # (uid, message, bytes, new), logged once committed
        with transaction(factory) as s:
            for fetched in batch:
                stats.seen += 1
                row, created = repo.store_raw(s, fetched, now())
                stats.stored += created
                stats.duplicates += not created
                uids.append(fetched.uid)
                stored.append((fetched.uid, row.id, len(fetched.raw), created))
                if _is_numeric(fetched.uid):
                    last_uid = max(last_uid, int(fetched.uid))
            repo.save_folder_state(s, source.account, folder, uidvalidity, last_uid, now())
        for uid, pk, size, created in stored:
            log.info("%s/%s: UID %s %s message %d (%d bytes)", source.account, folder, uid,
                     "stored as" if created else "is already stored as", pk, size,
                     extra={"source": source.account, "folder": folder, "mail": pk})
        _ack(source, folder, uidvalidity, uids, factory, now, stats)
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
            fetch_folder(source, folder, factory, now, stats)
        except Exception as exc:  # this folder and the ones not reached failed
            why = str(exc) if isinstance(exc, IntakeError) else f"{type(exc).__name__}: {exc}"
            _record(factory, source.account, folders[i:], now(), why)
            raise
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
