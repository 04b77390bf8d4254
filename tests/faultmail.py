"""Mail for the fault tests: applications with form and budget, short mails, replies, real-world mail.

Every application comes from its own organisation (own CVR, sender and domain),
so the number of cases to expect is the number of applications; replies answer
an application by its Message-ID and join its case.
"""

from __future__ import annotations

import os
import random
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from dovecot import to_crlf
from worker_harness import identity

from intake.documents.samples import (
    ONE_CARETAKER_BUDGET,
    application_values,
    make_mail,
    minimal_pdf,
)

APPLICATION = "Ansøgning – Pulje til sociale viceværter"
CORPUS = Path(os.environ.get(
    "PULJE_CORPUS", Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world-mail"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cvr(n: int) -> str:
    """The n-th 8-digit CVR number whose modulus-11 check holds."""
    weights = (2, 7, 6, 5, 4, 3, 2, 1)
    for candidate in range(30000000 + n * 97, 40000000):  # valid ones come every 11 or so
        if sum(w * int(d) for w, d in zip(weights, str(candidate), strict=True)) % 11 == 0:
            return str(candidate)
    raise AssertionError("no CVR")


def application(i: int, full: bool) -> bytes:
    """An application from organisation ``i``; ``full``: the official form and budget filled in."""
    from intake.documents.filling import fill_budget_xlsx, fill_form_pdf

    domain = f"boligselskab-{i}.dk"
    who = f"Kontakt {i} <kontakt@{domain}>"
    if full:
        form = fill_form_pdf(application_values(f"Boligselskabet nr. {i}", cvr(i), f"Kontakt {i}",
                                                f"kontakt@{domain}", "Aarhus"))
        attachments = [("Ansøgningsskema.pdf", form, "application/pdf"),
                       ("Budget.xlsx", fill_budget_xlsx(ONE_CARETAKER_BUDGET), XLSX)]
    else:
        attachments = [("Ansøgningsskema.pdf", minimal_pdf(), "application/pdf")]
    return make_mail(APPLICATION, sender=who, domain=domain, attachments=attachments,
                     body=f"Hermed ansøgning nr. {i}.\n\nVenlig hilsen\nKontakt {i}")


def reply_to(original: bytes, i: int) -> bytes:
    """A short reply to ``original`` (threaded by In-Reply-To), from its sender."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(original)
    domain = str(headers["From"]).split("@")[-1].rstrip(">")
    return make_mail("SV: " + APPLICATION, sender=str(headers["From"]), domain=domain,
                     body=f"Vi eftersender gerne mere, svar nr. {i}.",
                     headers={"In-Reply-To": str(headers["Message-ID"]),
                              "References": str(headers["Message-ID"])})


def question(i: int) -> bytes:
    """A short question from someone who has not applied (triage)."""
    return make_mail(f"Spørgsmål nr. {i} om puljen", sender=f"Borger {i} <borger{i}@example.org>",
                     domain="example.org", body=f"Kan vi søge, hvis vi er {i} afdelinger?")


def corpus(count: int, seed: int) -> list[bytes]:
    """``count`` real-world mails from ../shared/corpus, chosen by ``seed``."""
    assert CORPUS.is_dir(), f"the real-world corpus is not at {CORPUS} (set PULJE_CORPUS)"
    files = sorted(CORPUS.rglob("*.eml"))
    random.Random(seed).shuffle(files)
    return [f.read_bytes() for f in files[: count * 2]]


def mixed(applications: int, full: int, replies: int, questions: int, real_world: int,
          seed: int = 10) -> tuple[list[bytes], int]:
    """A shuffled mix, every mail distinct to the raw store; (mails in CRLF, applications in it).

    The first ``full`` applications carry the filled-in form and budget, the rest a short PDF.
    """
    apps = [application(i, i < full) for i in range(applications)]
    others = [question(i) for i in range(questions)]
    seen = {identity(to_crlf(m)) for m in apps + others}
    for raw in corpus(real_world, seed):
        if len(others) == questions + real_world:
            break
        key = identity(to_crlf(raw))
        if key not in seen:
            seen.add(key)
            others.append(raw)
    rng = random.Random(seed)
    order = apps + others
    rng.shuffle(order)
    # each reply somewhere after the application it answers, so it joins that case
    for i in range(replies):
        after = order.index(apps[i % applications])
        order.insert(rng.randint(after + 1, len(order)), reply_to(apps[i % applications], i))
    return [to_crlf(m) for m in order], applications
