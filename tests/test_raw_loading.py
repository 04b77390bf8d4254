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


@pytest.mark.parametrize(("slice_size", "extra"), [(64, 0), (64, 1), (64, 7), (1 << 20, 0)])
def test_the_raw_bytes_read_in_slices_are_the_bytes_stored(app, monkeypatch, slice_size, extra):
    monkeypatch.setattr(repo, "RAW_SLICE", slice_size)
    body = bytes(range(256)) * 3  # every byte value, NUL included
    raw = make_mail("Ansøgning", attachments=[("bilag.bin", body, "application/octet-stream")])
    raw = raw + b"x" * ((64 - len(raw) % 64) % 64 + extra)  # a slice border at the end, or just past it
    with transaction(app.context.factory) as s:
        msg, _ = repo.store_raw(s, repo.Fetched("acct", "INBOX", 1, "1", T0, raw), T0)
        pk = msg.id
    with transaction(app.context.factory) as s:
        assert bytes(repo.load_raw(s, pk)) == raw
        assert repo.load_raw(s, pk + 1000) == b""



def test_a_batch_split_into_several_inserts_stores_every_mail_once(app, monkeypatch):
    """A mail larger than ``INSERT_BYTES`` goes in an INSERT of its own; the batch's result is the same."""
    from sqlalchemy import select

    from store import rawstore
    from store.models import RawMessage

    monkeypatch.setattr(rawstore, "INSERT_BYTES", 2000)
    small = [make_mail("Spørgsmål", body=f"mail {i}") for i in range(3)]
    large = make_mail("Ansøgning", attachments=[("bilag.bin", bytes(range(256)) * 20, "application/octet-stream")])
    mails = [small[0], large, small[1], small[1], small[2]]  # the fourth repeats the third
    batch = [repo.Fetched("acct", "INBOX", 1, str(i), T0, raw) for i, raw in enumerate(mails, 1)]
    with transaction(app.context.factory) as s:
        stored = rawstore.store_batch(s, batch, T0)
    assert [(r.uid, r.created) for r in stored] == [("1", True), ("2", True), ("3", True), ("4", False),
                                                    ("5", True)]
    assert stored[2].message_pk == stored[3].message_pk
    with transaction(app.context.factory) as s:
        for r, raw in zip(stored, mails, strict=True):
            assert s.scalar(select(RawMessage.raw).where(RawMessage.id == r.message_pk)) == raw
        assert len(s.scalars(select(RawMessage.id)).all()) == 4
