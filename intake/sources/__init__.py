"""Where mail comes from: a local Maildir/.eml folder, or an IMAP account.

A source lists its folders, says each folder's UIDVALIDITY, yields new
messages in batches, and acknowledges messages once their bytes are committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from store.repository import Fetched


class Source(Protocol):
    """What the fetch loop needs from a mail source."""

    account: str

    def folders(self) -> Sequence[str]:
        """The folders to take mail from."""

    def select(self, folder: str) -> int:
        """Open a folder; return its UIDVALIDITY."""

    def fetch_new(self, folder: str, last_uid: int,
                  known: Callable[[], set[str]]) -> Iterator[list[Fetched]]:
        """Yield batches of messages not yet stored (UID above ``last_uid`` or not in ``known()``)."""

    def ack(self, folder: str, uids: list[str]) -> None:
        """Mark these messages handled on the server (keyword or move)."""

    def wait(self, stop: threading.Event, timeout: float) -> None:
        """Block until new mail may have arrived (IDLE), ``timeout`` passed, or ``stop`` is set."""

    def close(self) -> None:
        """Release connections."""


__all__ = ["Fetched", "Source"]
