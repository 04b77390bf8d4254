"""A Maildir (``cur``/``new``) or a plain folder of ``.eml`` files as a mail source.

The folder is only read, never changed: a file is known by its name (without
Maildir flags), and its modification time stands in for INTERNALDATE, as it
does for Dovecot.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from intake import progress
from store.repository import Fetched

UIDVALIDITY = 1
BATCH = 100


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


class MaildirSource:
    """Reads mail from a Maildir or a folder of ``.eml`` files (recursively)."""

    def __init__(self, name: str, path: Path, max_bytes: int | None = None):
        self.account = f"maildir:{name}"
        self.path = Path(path)
        self.max_bytes = max_bytes

    def folders(self) -> list[str]:
        """``INBOX`` for a Maildir, ``.`` for a folder of files."""
        return ["INBOX"] if _is_maildir(self.path) else ["."]

    def select(self, folder: str) -> int:
        """Maildirs have no UIDVALIDITY; file names are stable, so one constant serves."""
        if not self.path.is_dir():
            raise FileNotFoundError(f"mail folder {self.path} does not exist")
        return UIDVALIDITY

    def _files(self, folder: str) -> Iterator[tuple[str, Path]]:
        if folder == "INBOX":
            for sub in ("new", "cur"):
                for entry in sorted(os.scandir(self.path / sub), key=lambda e: e.name):
                    if entry.is_file() and not entry.name.startswith("."):
                        yield entry.name.split(":2,")[0], Path(entry.path)
        else:
            for p in sorted(self.path.rglob("*.eml")):
                if p.is_file():
                    yield p.relative_to(self.path).as_posix(), p

    def fetch_new(self, folder: str, last_uid: int,
                  known: Callable[[], set[str]]) -> Iterator[list[Fetched]]:
        """Yield batches of files whose names are not yet stored."""
        seen = known()
        new = [(uid, path) for uid, path in self._files(folder) if uid not in seen]
        batch: list[Fetched] = []
        with progress.track(f"{self.account}/{folder}: reading", len(new)) as bar:
            for uid, path in new:
                try:
                    stat = path.stat()
                    raw = path.read_bytes()
                except FileNotFoundError:  # moved between listing and reading; next pass finds it
                    continue
                internaldate = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
                batch.append(Fetched(self.account, folder, UIDVALIDITY, uid, internaldate, raw))
                if len(batch) >= BATCH:
                    bar.advance(len(batch))
                    yield batch
                    batch = []
            if batch:
                bar.advance(len(batch))
                yield batch

    def ack(self, folder: str, uids: list[str]) -> None:
        """Nothing to do: the folder is left as it is."""

    def close(self) -> None:
        """Nothing to release."""

    def wait(self, stop: threading.Event, timeout: float) -> None:
        """No push for a folder: wait for the poll interval (or the stop signal)."""
        stop.wait(timeout)
