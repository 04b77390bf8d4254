"""Files that hold personal data, created readable by the owner (and its group) only.

Applicants' names, addresses and budgets end up in files too: the SQLite
database, the ``.eml`` files of the file outbox, the digest, the exports. The
worker sets its umask to ``0027`` (``intake/commands/cli.py``), and these
helpers give such files an explicit mode besides, so a file is private even
when the worker was started with a looser umask or the file existed before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

PRIVATE = 0o640  # owner reads and writes, the service's group reads, others nothing
UMASK = 0o027  # what the worker creates: no write for the group, nothing for others


def open_private(path: str | os.PathLike[str], mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing (truncated), created with :data:`PRIVATE` and tightened to it
    if it existed with a wider mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, os.fstat(fd).st_mode & PRIVATE & 0o777)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to a private file."""
    with open_private(path, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def make_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty if it is missing, and take away any mode beyond :data:`PRIVATE`
    (the SQLite database: SQLite gives its journal files the database file's mode)."""
    p = Path(path)
    if not p.exists():
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT, PRIVATE))
    current = p.stat().st_mode & 0o777
    if current & ~PRIVATE:
        p.chmod(current & PRIVATE)
