"""Issue #15: processing reads a stored mail's raw bytes apart from its row, in slices.

The bytes handed to the reader must be exactly the bytes stored, whatever the slice
borders (PostgreSQL reads ``RAW_SLICE`` at a time; SQLite reads the blob directly).
"""

from __future__ import annotations

import datetime as dt

import pytest

from intake.documents.samples import make_mail
from store import repository as repo
from store.db import transaction

T0 = dt.datetime(2025, 7, 20, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("extra", [0, 1, 7])
def test_the_raw_bytes_read_in_slices_are_the_bytes_stored(app, monkeypatch, extra):
    monkeypatch.setattr(repo, "RAW_SLICE", 64)
    body = bytes(range(256)) * 3  # every byte value, NUL included
    raw = make_mail("Ansøgning", attachments=[("bilag.bin", body, "application/octet-stream")])
    raw = raw + b"x" * ((64 - len(raw) % 64) % 64 + extra)  # a slice border at the end, or just past it
    with transaction(app.context.factory) as s:
        msg, _ = repo.store_raw(s, repo.Fetched("acct", "INBOX", 1, "1", T0, raw), T0)
        pk = msg.id
    with transaction(app.context.factory) as s:
        assert bytes(repo.load_raw(s, pk)) == raw
        assert repo.load_raw(s, pk + 1000) == b""

