"""Storing a large mail does not copy it into strings (issue #15: peak RSS with a 25 MB attachment).

The dedupe key (Message-ID, From, Subject, Date and the body with uniform line
ends) used to parse the whole mail as text and copy the body twice; the
header block alone is parsed now and the body hashed in slices. The keys must
stay exactly what they were: rows stored before this change are matched by them.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from email.parser import BytesHeaderParser
from email.policy import compat32

from hypothesis import given, settings
from hypothesis import strategies as st

from store import repository


def old_key(raw: bytes) -> tuple[str | None, str | None]:
    """The key as it was computed before (the whole mail parsed, the body copied)."""
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        message_id = " ".join(str(headers.get("Message-ID") or "").split()) or None
        if not message_id:
            return None, None
        parts = [message_id, str(headers.get("From") or ""), str(headers.get("Subject") or ""),
                 str(headers.get("Date") or "")]
    except Exception:
        return None, None
    body = b""
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at != -1:
            body = raw[at + len(sep):].replace(b"\r\n", b"\n").rstrip()
            break
    digest = hashlib.sha256("\0".join(" ".join(p.split()) for p in parts).encode("utf-8", "replace"))
    digest.update(b"\0" + body)
    return message_id[:998], digest.hexdigest()


PIECES = [b"\r\n", b"\r", b"\n", b" ", b"\t", b"Message-ID: <a@b.dk>", b"From: Mette <m@x.dk>",
          b"Subject: =?utf-8?q?S=C3=B8g?=", b"Date: Tue, 29 Jul 2025", b"body", b"\xff\xfe", b"X-Y: 1", b":",
          b" folded", b"Message-ID: <c@d.dk>"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.integers(min_value=1, max_value=9))
def test_the_key_is_what_it_was_for_any_line_ends_and_any_slice_size(pieces, chunk):
    raw = b"Message-ID: <m@x.dk>\r\n" + b"".join(pieces)
    saved = repository._CHUNK
    repository._CHUNK = chunk  # small slices: every CR, CRLF and trailing blank falls on a border
    try:
        assert repository._dedupe_key(raw) == old_key(raw)
    finally:
        repository._CHUNK = saved
    assert repository._dedupe_key(b"".join(pieces)) == old_key(b"".join(pieces))


def test_a_20_mb_mail_is_keyed_without_copying_it():
    body = (b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n" * 270_000)
    raw = b"Message-ID: <big@x.dk>\r\nFrom: m@x.dk\r\nSubject: Bilag\r\n\r\n" + body
    tracemalloc.start()
    try:
        key = repository._dedupe_key(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert key == old_key(raw)
    # a few one-megabyte slices at a time, never the 20 MB body (the old way peaked at 155 MiB)
    assert peak < 8 * 1024 * 1024, peak
