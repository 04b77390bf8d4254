"""The mail the benchmarks read: a realistic, seeded mix, the same bytes for us and the references.

80 % short mail (questions, replies, automatic answers) of 2–60 KB, some with a
photo or a scanned annex up to 500 KB; 20 % applications with the official form
(PDF with fields) and budget (XLSX) filled in as applicants do
(``intake.documents.samples``). Every mail has its own sender, organisation and
Message-ID, so no two are duplicates and no rate limit holds a receipt back.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path

from intake.documents.samples import (
    ONE_CARETAKER_BUDGET,
    SampleMail,
    application_values,
    make_mail,
    write_maildir,
)

SUBJECT = "Ansøgning – Pulje til sociale viceværter"
TOWNS = ("Aarhus", "Aalborg", "Odense", "Esbjerg", "Vejle", "Herning", "Roskilde", "Horsens")


def _cvr(n: int) -> str:
    """A CVR number with a valid check digit (weights 2,7,6,5,4,3,2,1)."""
    for base in range(10_000_000 + n * 7, 100_000_000):
        digits = [int(d) for d in str(base)]
        if sum(w * d for w, d in zip((2, 7, 6, 5, 4, 3, 2, 1), digits, strict=True)) % 11 == 0:
            return str(base)
    raise ValueError(n)


def _text(rng: random.Random, size: int) -> str:
    words = ("vi", "har", "et", "spørgsmål", "om", "puljen", "til", "sociale", "viceværter", "og",
             "ansøgningen", "afdelingen", "beboerne", "kommunen", "venlig", "hilsen")
    out: list[str] = []
    length = 0
    while length < size:
        line = " ".join(rng.choice(words) for _ in range(12))
        out.append(line)
        length += len(line) + 1
    return "\n".join(out)


def _application(i: int, when: dt.datetime) -> bytes:
    from intake.documents.filling import fill_budget_xlsx, fill_form_pdf

    org, town = f"Boligselskabet Bench {i}", TOWNS[i % len(TOWNS)]
    sender = f"kontakt@bench{i}.dk"
    form = fill_form_pdf(application_values(org, _cvr(i), "Mette Hansen", sender, town))
    return make_mail(SUBJECT, sender=f"Mette Hansen <{sender}>", domain=f"bench{i}.dk", date=when,
                     attachments=[("Ansøgningsskema.pdf", form, "application/pdf"),
                                  ("Budget.xlsx", fill_budget_xlsx(ONE_CARETAKER_BUDGET),
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])


def _short(i: int, when: dt.datetime, rng: random.Random) -> bytes:
    attachments = []
    if rng.random() < 0.25:  # a photo or a scanned annex: random bytes do not compress, like JPEG
        attachments.append((f"bilag-{i}.jpg", rng.randbytes(rng.randrange(20_000, 500_000)), "image/jpeg"))
    subject = rng.choice(("Spørgsmål om puljen", "SV: Kvittering", "Automatisk svar: ferie", "Møde i næste uge"))
    return make_mail(f"{subject} {i}", sender=f"Person {i} <person{i}@firma{i}.dk>", domain=f"firma{i}.dk",
                     body=_text(rng, rng.randrange(1_500, 60_000)), date=when, attachments=attachments)


def mixed(n: int, seed: int = 15, applications: float = 0.2, start: dt.datetime | None = None) -> list[SampleMail]:
    """``n`` mails, every fifth an application (the rest short mail), received a minute apart."""
    rng = random.Random(seed)
    start = start or dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC)
    every = max(1, round(1 / applications)) if applications else 0
    mails = []
    for i in range(n):
        when = start + dt.timedelta(minutes=i)
        raw = _application(i, when) if every and i % every == every - 1 else _short(i, when, rng)
        mails.append(SampleMail(f"bench-{i:06d}", raw, when))
    return mails


def small(n: int, seed: int = 16) -> list[SampleMail]:
    """``n`` short mails of about 2 KB, no attachments (time per mail, 1k → 100k)."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC)
    return [SampleMail(f"small-{i:06d}", make_mail(f"Spørgsmål {i}", sender=f"p{i}@firma{i}.dk",
                                                   domain=f"firma{i}.dk", body=_text(rng, 1_800),
                                                   date=start + dt.timedelta(seconds=i)),
                       start + dt.timedelta(seconds=i)) for i in range(n)]


def big_attachment(megabytes: int) -> list[SampleMail]:
    """One application mail with a ``megabytes`` MB annex beside the form and budget."""
    from intake.documents.filling import fill_budget_xlsx, fill_form_pdf

    when = dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC)
    form = fill_form_pdf(application_values("Boligselskabet Stor", _cvr(1), "Mette Hansen", "m@stor.dk", "Aarhus"))
    raw = make_mail(SUBJECT, sender="Mette Hansen <m@stor.dk>", domain="stor.dk", date=when, attachments=[
        ("Ansøgningsskema.pdf", form, "application/pdf"),
        ("Budget.xlsx", fill_budget_xlsx(ONE_CARETAKER_BUDGET),
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("Bilag-scannet.pdf", os.urandom(megabytes * 1024 * 1024), "application/pdf")])
    return [SampleMail("big", raw, when)]


def to_maildir(folder: Path, mails: list[SampleMail]) -> int:
    """Write the mails into a Maildir (``new/``); return the total bytes."""
    write_maildir(folder, mails)
    return sum(len(m.raw) for m in mails)
