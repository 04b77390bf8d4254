"""A mail with a large attachment is read without the parser's copies of it (issue #15: peak RSS).

Large base64 attachments are cut out before the MIME parser runs and decoded
from the raw bytes (``parsers/mimecut.py``). What the rest of intake sees must
not change: every real-world mail of the corpus, cut at every attachment, reads
exactly as it reads uncut; and the parse of a 20 MB attachment stays near the
attachment's own size in memory.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import tracemalloc
from pathlib import Path

import pytest

from intake.documents.samples import demo_mail, make_mail
from parsers import mimecut
from parsers.limits import DEFAULT
from parsers.mime import parse_mail

CORPUS = Path(os.environ.get(
    "PULJE_CORPUS", Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world-mail"))


def _forward(inner: bytes) -> bytes:
    """A mail that carries another mail (with its attachment) as message/rfc822."""
    head = (b"From: a@x.dk\r\nTo: pulje@bl.dk\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n')
    return (head + b"--b1\r\nContent-Type: text/plain\r\n\r\nSe nedenfor.\r\n--b1\r\n"
            b'Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename="fwd.eml"\r\n\r\n'
            + inner + b"\r\n--b1--\r\n")


def _broken_padding() -> bytes:
    body = base64.b64encode(b"%PDF-1.4 padded wrong" * 50).rstrip(b"=")[:-1]
    return (b"From: a@x.dk\r\nSubject: Bilag\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHej\r\n'
            b'--b\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
            b'Content-Disposition: attachment; filename="a.pdf"\r\n\r\n' + body + b"\r\n--b--\r\n")


def _mails() -> list[tuple[str, bytes]]:
    mails = [(p.name, p.read_bytes()) for p in sorted(CORPUS.rglob("*.eml"))]
    assert len(mails) > 100, CORPUS  # the corpus is there (CI clones ../shared beside the project)
    demo = [(m.name, m.raw) for m in demo_mail()]
    return [*mails, *demo, ("forwarded application", _forward(demo[0][1])), ("broken padding", _broken_padding()),
            ("no file name", make_mail("Bilag", attachments=[("", b"x" * 3000, "application/octet-stream")]))]


def test_every_mail_reads_the_same_cut_at_every_attachment(monkeypatch):
    cut_every_time = 0
    for name, raw in _mails():
        monkeypatch.setattr(mimecut, "CUT_BYTES", 10**12)
        random.seed(15)  # mail-parser names a nameless part at random
        whole = parse_mail(raw)
        monkeypatch.setattr(mimecut, "CUT_BYTES", 0)
        cut_every_time += mimecut.cut(raw, DEFAULT) is not None
        random.seed(15)
        assert parse_mail(raw) == whole, name
    assert cut_every_time > 20  # the corpus has that many mails with a named base64 attachment


def test_a_20_mb_attachment_is_read_in_little_more_than_its_size():
    annex = os.urandom(20 * 1024 * 1024)
    raw = make_mail("Ansøgning", attachments=[("Bilag.pdf", annex, "application/pdf"),
                                              ("Budget.xlsx", b"PK small", "application/octet-stream")],
                    date=dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    tracemalloc.start()
    try:
        mail = parse_mail(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [a.filename for a in mail.attachments] == ["Bilag.pdf", "Budget.xlsx"]
    assert mail.attachments[0].data == annex
    assert mail.attachments[1].data == b"PK small"
    # the decoded 20 MiB and a few small things; parsed as before, the peak was 175 MiB
    assert peak < 24 * 1024 * 1024, peak


@pytest.mark.parametrize("size", [mimecut.CUT_BYTES - 1000, mimecut.CUT_BYTES + 1000])
def test_on_both_sides_of_the_cut_the_attachment_is_the_same(size):
    data = os.urandom(size)
    mail = parse_mail(make_mail("Bilag", attachments=[("scan.jpg", data, "image/jpeg")]))
    assert mail.attachments[0].data == data
