"""An IMAP account as a mail source (imapclient): which mail is fetched, and its acknowledgement.

Only newer UIDs are fetched, always with ``BODY.PEEK[]`` so ``\\Seen`` stays as
the staff left it. Messages above ``slice_bytes`` come in partial fetches
(``BODY.PEEK[]<offset.length>``) so no single server response is larger than a
slice. A message is acknowledged (a keyword, or a move to another folder) only
when the fetch loop says its bytes are committed. The connection, its errors,
IDLE and ``check`` are :class:`~intake.sources.imap_connection.ImapConnection`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

from imapclient import IMAPClient

from intake import progress
from intake.sources.imap_connection import ImapConnection
from store.repository import Fetched

log = logging.getLogger(__name__)

# Upper bound on the bytes of one batch of small messages (one FETCH and one DB
# transaction), on top of the ``fetch_batch`` message count: 50 messages just
# under a 1 MiB slice would otherwise make one 50 MiB response.
BATCH_BYTES = 16 * 1024 * 1024
# UIDs per metadata FETCH (RFC822.SIZE, INTERNALDATE): small answers, few round trips.
META_CHUNK = 1000
# UIDs per STORE/MOVE command: keeps the command line well below server limits.
ACK_CHUNK = 500
def _utc(value: dt.datetime) -> dt.datetime:
    """INTERNALDATE as an aware UTC datetime (imapclient may hand back naive local time)."""
    if value.tzinfo is None:
        value = value.astimezone()  # naive means local time in imapclient's normalised mode
    return value.astimezone(dt.UTC)


def _body(data: dict[bytes, Any]) -> bytes | None:
    """The body bytes from one FETCH answer; the key is ``BODY[]`` or ``BODY[]<offset>``."""
    for key, value in data.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[]"):
            body: bytes = value or b""
            return body
    return None


class ImapSource(ImapConnection):
    """Reads mail from the folders of one IMAP account (see the module docstring)."""

    def folders(self) -> list[str]:
        """The configured folders, in order (the first one is watched with IDLE)."""
        return list(self.cfg.folders)

    def select(self, folder: str) -> int:
        """Open a folder and return its UIDVALIDITY."""
        with self._errors(f"selecting {folder!r}"):
            self._select(folder)
            if self.cfg.ack == "keyword":
                self._check_keyword_allowed(folder)
            return self._uidvalidity

    def fetch_new(self, folder: str, last_uid: int,
                  known: Callable[[], set[str]]) -> Iterator[list[Fetched]]:
        """Yield batches of messages with a UID above ``last_uid``, oldest UID first.

        IMAP UIDs only grow, and the fetch loop commits ``last_uid`` with every
        batch, so ``known`` (a database query over every stored UID) is not needed.
        Batches come in UID order, so a committed ``last_uid`` never skips a
        message that was not stored.
        """
        with self._errors(f"fetching from {folder!r}"):
            client = self._ensure_selected(folder)
            uidvalidity = self._uidvalidity
            # "N:*" always matches the highest existing UID, even when it is below N
            uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
            self._high_uid[folder] = max([last_uid, *uids])
            if not uids:
                return
            log.debug("%s/%s: %d new message(s) above UID %d", self.account, folder, len(uids), last_uid)
            with progress.track(f"{self.account}/{folder}: fetching", len(uids)) as bar:
                for batch in self._batches(client, folder, uidvalidity, uids):
                    bar.advance(len(batch))
                    yield batch

    def _batches(self, client: IMAPClient, folder: str, uidvalidity: int,
                 uids: list[int]) -> Iterator[list[Fetched]]:
        """Batches of the messages ``uids``: small ones together, a large one alone and sliced."""
        for start in range(0, len(uids), META_CHUNK):
            chunk = uids[start:start + META_CHUNK]
            meta = client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"])
            group: list[int] = []
            group_bytes = 0
            for uid in chunk:
                if uid not in meta:  # expunged since the SEARCH
                    continue
                size = int(meta[uid].get(b"RFC822.SIZE") or 0)
                if size > self.cfg.slice_bytes:
                    if group:
                        yield self._fetch_whole(client, folder, uidvalidity, group, meta)
                        group, group_bytes = [], 0
                    big = self._fetch_sliced(client, folder, uidvalidity, uid, meta[uid])
                    if big is not None:
                        yield [big]
                    continue
                if group and (len(group) >= self.cfg.fetch_batch
                              or group_bytes + size > BATCH_BYTES):
                    yield self._fetch_whole(client, folder, uidvalidity, group, meta)
                    group, group_bytes = [], 0
                group.append(uid)
                group_bytes += size
            if group:
                yield self._fetch_whole(client, folder, uidvalidity, group, meta)

    def _fetched(self, folder: str, uidvalidity: int, uid: int, meta: dict[bytes, Any],
                 raw: bytes) -> Fetched:
        internaldate = meta.get(b"INTERNALDATE")
        if internaldate is None:  # never seen from a real server; better late than lost
            log.warning("%s/%s: UID %d has no INTERNALDATE; using the time of fetching",
                        self.account, folder, uid)
            internaldate = dt.datetime.now(dt.UTC)
        return Fetched(self.account, folder, uidvalidity, str(uid), _utc(internaldate), raw)

    def _fetch_whole(self, client: IMAPClient, folder: str, uidvalidity: int,
                     uids: list[int], meta: dict[int, dict[bytes, Any]]) -> list[Fetched]:
        """One FETCH of ``BODY.PEEK[]`` for a group of small messages."""
        data = client.fetch(uids, ["BODY.PEEK[]"])
        batch = []
        for uid in uids:
            raw = _body(data.get(uid, {}))
            if raw is None:  # expunged meanwhile
                continue
            batch.append(self._fetched(folder, uidvalidity, uid, meta[uid], raw))
        return batch

    def _fetch_sliced(self, client: IMAPClient, folder: str, uidvalidity: int,
                      uid: int, meta: dict[bytes, Any]) -> Fetched | None:
        """Fetch one large message in ``slice_bytes`` pieces; None if it vanished."""
        step = self.cfg.slice_bytes
        size = int(meta.get(b"RFC822.SIZE") or 0)
        buf = bytearray()
        while True:
            data = client.fetch([uid], [f"BODY.PEEK[]<{len(buf)}.{step}>"])
            piece = _body(data.get(uid, {}))
            if piece is None:
                return None
            buf += piece
            # the end: an empty slice, or a short one once RFC822.SIZE is reached (some
            # servers only estimate that size, so it alone cannot end the loop)
            if not piece or (len(piece) < step and len(buf) >= size):
                break
        log.debug("%s/%s: UID %d fetched in slices, %d bytes", self.account, folder, uid, len(buf))
        return self._fetched(folder, uidvalidity, uid, meta, bytes(buf))

    def ack(self, folder: str, uids: list[str]) -> None:
        """Acknowledge stored messages: add the keyword, or move them; never touch ``\\Seen``."""
        if not uids:
            return
        numbers = sorted({int(u) for u in uids})
        with self._errors(f"acknowledging in {folder!r}"):
            client = self._ensure_selected(folder)
            for start in range(0, len(numbers), ACK_CHUNK):
                chunk = numbers[start:start + ACK_CHUNK]
                if self.cfg.ack == "keyword":
                    client.add_flags(chunk, [self.cfg.ack_keyword], silent=True)
                else:
                    self._move(client, chunk)

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        target = self.cfg.move_to
        assert target
        if client.has_capability("MOVE"):
            client.move(uids, target)
            return
        # RFC 6851 fallback: copy, flag, and expunge only these UIDs
        client.copy(uids, target)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            # a plain EXPUNGE would also remove mail someone else marked \Deleted:
            # leave ours flagged; the copy is safe in the target folder
            log.warning("%s: server has neither MOVE nor UIDPLUS; %d message(s) copied to %s "
                        "and left flagged \\Deleted", self.account, len(uids), target)

