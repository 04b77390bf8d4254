"""Locks that let several workers share one database without stepping on each other.

On PostgreSQL they are advisory locks on a 64-bit hash of a name, scoped to the
schema so two installations (or two test schemas) in one database never wait
for each other:

* :func:`lock_organisation` — a transaction lock around case creation for one
  organisation, so two workers never make two cases for one applicant;
* :func:`folder_lock` — a session lock held while one worker fetches an IMAP
  folder; another worker skips that folder for this pass;
* :func:`migration_lock` — a session lock around ``db upgrade``: two workers
  starting on an empty database take turns, the second finds the head.

On SQLite there is one worker (:func:`worker_lock` refuses a second) and one
writer at a time, so the first two are no-ops and migrations take a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session


class WorkerRefused(Exception):
    """Another worker holds this SQLite database."""


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for a name (stable across processes and versions)."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _schema(conn: Connection | Session) -> str:
    return str(conn.execute(text("SELECT current_schema()")).scalar() or "")


def organisation_keys(cvr: str | None, sender: str | None) -> list[str]:
    """The keys an organisation's case creation is locked by: its CVR and the sender's address.

    Both, because an application matches an earlier one by either (intake/cases/matching.py).
    """
    keys = []
    if cvr and (digits := "".join(ch for ch in cvr if ch.isdigit())):
        keys.append(f"cvr:{digits}")
    if sender and sender.strip():
        keys.append("sender:" + sender.strip().casefold())
    return keys


def lock_organisation(session: Session, *keys: str) -> None:
    """Serialise case creation for one organisation until the transaction ends (PostgreSQL).

    ``keys`` come from :func:`organisation_keys`; they are taken in sorted order, so
    two workers never wait for each other in a circle. SQLite has one writer: no-op.
    """
    if session.get_bind().dialect.name != "postgresql" or not keys:
        return
    schema = _schema(session)
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("organisation", schema, key)})


@contextlib.contextmanager
def folder_lock(engine: Engine, account: str, folder: str) -> Iterator[bool]:
    """Hold the fetch lock of one folder while the block runs; yield False if another worker has it.

    A session lock on its own connection: it ends with the block, or with the
    connection if the worker dies. On SQLite (one worker) it always yields True.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        key = lock_key("folder", _schema(conn), account, folder)
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                with contextlib.suppress(Exception):  # a dead connection released it already
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None (PostgreSQL, or an in-memory database)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url[len("sqlite:///"):].split("?", 1)[0])


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Let one process at a time migrate: an advisory lock on PostgreSQL, a file lock on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = lock_key("migrate", _schema(conn))
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    path = sqlite_path(str(engine.url))
    if path is None:
        yield
        return
    with open(f"{path}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits for the other process's upgrade
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def worker_lock(url: str) -> IO[str] | None:
    """Claim a SQLite database for this worker; raise WorkerRefused naming the other one.

    An ``flock`` on ``<database>.worker-lock`` beside the file, held as long as the
    returned handle is open (the kernel drops it when the process dies, kill -9
    included). PostgreSQL takes several workers: None.
    """
    path = sqlite_path(url)
    if path is None:
        return None
    lock_path = Path(f"{path}.worker-lock")
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise WorkerRefused(f"another pulje-intake worker (pid {pid}) uses this SQLite database "
                            f"({path}); on SQLite run one worker, or use PostgreSQL for several") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
