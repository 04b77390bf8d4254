"""Sample mail for the demo and the tests: the kinds of mail the inbox gets."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


@dataclass(frozen=True)
class SampleMail:
    """One sample message and when the server received it."""

    name: str
    raw: bytes
    received: dt.datetime


def minimal_pdf(text: str = "Ansøgningsskema") -> bytes:
    """A tiny valid one-page PDF (placeholder until the real form is filled in)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text.encode('latin-1', 'replace').decode('latin-1')}) Tj ET".encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def make_mail(
    subject: str,
    sender: str = "Mette Hansen <mette@boligselskabet-nord.dk>",
    to: str = "pulje@bl.dk",
    body: str = "Hermed vores ansøgning.\n\nVenlig hilsen\nMette",
    attachments: list[tuple[str, bytes, str]] = (),
    date: dt.datetime | None = None,
    headers: dict[str, str] | None = None,
    domain: str = "boligselskabet-nord.dk",
) -> bytes:
    """Build a realistic message; attachments are (filename, bytes, mime type)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or dt.datetime(2025, 7, 1, 10, 0, tzinfo=dt.UTC))
    msg["Message-ID"] = make_msgid(domain=domain)
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    for filename, data, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def demo_mail() -> list[SampleMail]:
    """A small inbox: applications (good, late), a report, an auto-reply, a question, junk."""
    tz = dt.timezone(dt.timedelta(hours=2))
    pdf = minimal_pdf()
    return [
        SampleMail("application-nord", make_mail(
            "Ansøgning – Pulje til sociale viceværter",
            attachments=[("Ansøgningsskema.pdf", pdf, "application/pdf")],
        ), dt.datetime(2025, 7, 20, 9, 15, tzinfo=tz)),
        SampleMail("application-syd-late", make_mail(
            "SV: ansoegning - pulje til sociale vicevaerter - Boligforeningen Syd",
            sender="Jens Ølgaard <jens@bf-syd.dk>", domain="bf-syd.dk",
            attachments=[("skema.pdf", pdf, "application/pdf")],
        ), dt.datetime(2025, 8, 2, 0, 5, tzinfo=tz)),
        SampleMail("report-vest", make_mail(
            "Afrapportering pulje til sociale viceværter",
            sender="Anne Vestergaard <anne@vestbo.dk>", domain="vestbo.dk",
            body="Hermed afrapportering.",
            attachments=[("Ledelseserklæring.pdf", minimal_pdf("Ledelseserklaering"), "application/pdf")],
        ), dt.datetime(2028, 1, 15, 11, 0, tzinfo=tz)),
        SampleMail("auto-reply", make_mail(
            "Automatisk svar: Ansøgning – Pulje til sociale viceværter",
            sender="Kontoret <kontor@bf-syd.dk>", domain="bf-syd.dk",
            body="Jeg er på ferie til 1. august.", headers={"Auto-Submitted": "auto-replied"},
        ), dt.datetime(2025, 7, 21, 8, 0, tzinfo=tz)),
        SampleMail("question", make_mail(
            "Spørgsmål om ansøgning",
            sender="Lars Kirk <lars@kirkebo.dk>", domain="kirkebo.dk",
            body="Kan vi søge sammen med to kommuner?",
        ), dt.datetime(2025, 6, 3, 13, 30, tzinfo=tz)),
        SampleMail("junk", make_mail(
            "Vind en iPad i dag!", sender="Tilbud <tilbud@example.com>", domain="example.com",
            body="Klik her.", headers={"Precedence": "bulk"},
        ), dt.datetime(2025, 7, 2, 3, 0, tzinfo=tz)),
    ]


def write_maildir(folder, mails: list[SampleMail]) -> None:
    """Write mails into a Maildir (``new/``), each file's mtime set to its arrival time."""
    import os
    from pathlib import Path

    root = Path(folder)
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, m in enumerate(mails):
        name = f"{int(m.received.timestamp())}.{i}_{m.name}.demo"
        tmp = root / "tmp" / name
        tmp.write_bytes(m.raw)
        ts = m.received.timestamp()
        os.utime(tmp, (ts, ts))
        tmp.rename(root / "new" / name)
