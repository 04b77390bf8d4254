"""Sample mail for the demo and the tests: the kinds of mail the inbox gets."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path


@dataclass(frozen=True)
class SampleMail:
    """One sample message and when the server received it."""

    name: str
    raw: bytes
    received: dt.datetime


def minimal_pdf(text: str = "Ansøgningsskema") -> bytes:
    """A tiny one-page PDF with one line of text (the report parts of the sample mail)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text.encode('latin-1', 'replace').decode('latin-1')}) Tj ET".encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return assemble_pdf(objs)


def assemble_pdf(objects: list[bytes]) -> bytes:
    """A PDF file from its numbered objects (1 = catalog), with the cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_mail(
    subject: str,
    sender: str = "Mette Hansen <mette@boligselskabet-nord.dk>",
    to: str = "pulje@bl.dk",
    body: str = "Hermed vores ansøgning.\n\nVenlig hilsen\nMette",
    attachments: Sequence[tuple[str, bytes, str]] = (),
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


def application_values(org: str, cvr: str, contact: str, email: str, municipality: str,
                       **overrides: str) -> dict[str, str]:
    """A complete application form for one caretaker, as an applicant types it."""
    values = {
        "org_name": org,
        "cvr": cvr,
        "address": "Søndergade 12, 8000 Aarhus C",
        "contact_name": contact,
        "contact_email": email,
        "contact_phone": "+45 12 34 56 78",
        "departments": "Afd. 7 Skovgården",
        "municipality": f"{municipality} Kommune",
        "partners": f"{municipality} Kommune, Socialforvaltningen",
        "fte": "1",
        "hire_type": "Nyansaettelse",
        "start_date": "1. januar 2026",
        "referrals": "42",
        "evictions": "7",
        "rent_level": "950,50",
        "collaboration": "Fast møde hver måned med kommunens bostøtte og afdelingsbestyrelsen.",
        "organisation": "Viceværten ansættes i boligorganisationen og refererer til driftschefen.",
        "target_group": "Nye beboere med hjemløshedsbaggrund. Vi venter færre udsættelser.",
        "amount_requested": "1.012.497,75",
        "signatory": contact,
        "signed_date": "15-07-2025",
    }
    values.update(overrides)
    return values


ONE_CARETAKER_BUDGET = {
    "salary_2026": {"hours": Decimal("1649"), "rate": Decimal("334"), "share": Decimal("1")},
    "salary_2027": {"hours": Decimal("1649"), "rate": Decimal("341"), "share": Decimal("0.75")},
    "activity_2026": {"amount": Decimal("20000")},
    "activity_2027": {"amount": Decimal("20000")},
}


def _application(name: str, subject: str, sender: str, domain: str, received: dt.datetime,
                 form: dict[str, str] | None, budget: dict[str, dict[str, Decimal]] | None) -> SampleMail:
    from intake.documents.filling import fill_budget_xlsx, fill_form_pdf

    attachments = []
    if form is not None:
        attachments.append(("Ansøgningsskema.pdf", fill_form_pdf(form), "application/pdf"))
    if budget is not None:
        attachments.append(("Budget.xlsx", fill_budget_xlsx(budget),
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    return SampleMail(name, make_mail(subject, sender=sender, domain=domain, attachments=attachments,
                                      date=received), received)


def demo_mail() -> list[SampleMail]:
    """The application round: good, incomplete and late applications, an auto-reply, a question, junk."""
    tz = dt.timezone(dt.timedelta(hours=2))
    subject = "Ansøgning – Pulje til sociale viceværter"
    return [
        _application(
            "application-nord", subject, "Mette Hansen <mette@boligselskabet-nord.dk>",
            "boligselskabet-nord.dk", dt.datetime(2025, 7, 20, 9, 15, tzinfo=tz),
            application_values("Boligselskabet Nord", "34567891", "Mette Hansen",
                               "mette@boligselskabet-nord.dk", "Aalborg"),
            ONE_CARETAKER_BUDGET),
        _application(  # a CVR that fails its check digit, no municipality among partners, no budget
            "application-syd-incomplete",
            "SV: ansoegning - pulje til sociale vicevaerter - Boligforeningen Syd",
            "Jens Ølgaard <jens@bf-syd.dk>", "bf-syd.dk", dt.datetime(2025, 7, 25, 14, 0, tzinfo=tz),
            application_values("Boligforeningen Syd", "28123451", "Jens Ølgaard", "jens@bf-syd.dk",
                               "Haderslev", partners="Beboerforeningen Syd"),
            None),
        _application(
            "application-vest-late", subject, "Anne Vestergaard <anne@vestbo.dk>", "vestbo.dk",
            dt.datetime(2025, 8, 2, 0, 5, tzinfo=tz),
            application_values("Vestbo", "19876543", "Anne Vestergaard", "anne@vestbo.dk", "Esbjerg"),
            ONE_CARETAKER_BUDGET),
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


REPORT_PARTS = (
    ("Ledelseserklæring.pdf", "Ledelseserklæring: tilskuddet er brugt til det godkendte formål."),
    ("Faglig afrapportering.pdf", "Faglig afrapportering: resultater af indsatsen med den sociale vicevært."),
    ("Regnskab 2026-2027.pdf", "Regnskab for tilskuddet fordelt på løn og aktivitetsmidler."),
    ("Revisionsberetning.pdf", "Revisionsberetning fra statsautoriseret revisor."),
    ("Revisionsprotokollat.pdf", "Revisionsprotokollat for regnskabet."),
)


def demo_report_mail() -> list[SampleMail]:
    """The final report of Boligselskabet Nord, with all five parts, in January 2028."""
    tz = dt.timezone(dt.timedelta(hours=1))
    attachments = [(name, minimal_pdf(text), "application/pdf") for name, text in REPORT_PARTS]
    return [SampleMail("report-nord", make_mail(
        "Afrapportering pulje til sociale viceværter",
        sender="Mette Hansen <mette@boligselskabet-nord.dk>", domain="boligselskabet-nord.dk",
        body="Hermed vores afrapportering (CVR 34567891).", attachments=attachments,
        date=dt.datetime(2028, 1, 15, 11, 0, tzinfo=tz),
    ), dt.datetime(2028, 1, 15, 11, 0, tzinfo=tz))]


DOCUMENTATION_PARTS = (
    ("Lønsedler januar-marts 2026.pdf", "Lønsedler for den sociale vicevært, januar, februar og marts 2026."),
    ("Aktivitetsregnskab Q1 2026.pdf", "Opgørelse af aktivitetsmidler brugt i 1. kvartal 2026."),
)


def demo_documentation_mail(case_id: str) -> list[SampleMail]:
    """Boligselskabet Nord's documentation for the first quarter of 2026, in April 2026."""
    tz = dt.timezone(dt.timedelta(hours=2))
    arrived = dt.datetime(2026, 4, 14, 9, 30, tzinfo=tz)
    attachments = [(name, minimal_pdf(text), "application/pdf") for name, text in DOCUMENTATION_PARTS]
    return [SampleMail("documentation-nord-2026q1", make_mail(
        f"Dokumentation Q1 2026 [{case_id}]",
        sender="Mette Hansen <mette@boligselskabet-nord.dk>", domain="boligselskabet-nord.dk",
        body="Hej\n\nHermed lønsedler og opgørelse af aktivitetsmidler for 1. kvartal 2026.\n\nVenlig hilsen\nMette",
        attachments=attachments, date=arrived,
    ), arrived)]


def write_maildir(folder: str | Path, mails: list[SampleMail]) -> None:
    """Write mails into a Maildir (``new/``), each file's mtime set to its arrival time."""
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
