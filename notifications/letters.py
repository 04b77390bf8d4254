"""Decision letters: the committee's answer to an applicant, in Danish, as text, HTML and a PDF.

A letter is a *bevilling* (the amount, caretakers and years, the payout of
each quarter, what each quarter's documentation holds, the conditions, the
case number to quote) or an *afslag* (with the committee's short reason where
it gave one). A letter for a changed decision is marked as a correction of the
one before. The worker hands over :class:`LetterFacts` (plain values); this
module renders ``config/templates/letter-<kind>.(txt|html).j2``, sets the PDF
from the text version (``notifications/pdf.py``) and attaches it.

Each letter is one outbox row with the key ``letter:<case id>:v<decision
version>``: releasing the batch twice, or after a restart, queues nothing more.
"""

from __future__ import annotations

import datetime as dt
import email.policy
from dataclasses import dataclass
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

from notifications.pdf import letter_pdf
from notifications.receipts import ReceiptSetup, and_list, pool_dates
from notifications.render import Rendered, build_message, environment, labels, tidy_text
from parsers.danish import date_da, kroner, number_da
from store.words import LetterKind


@dataclass(frozen=True)
class LetterFacts:
    """What one decision letter says, as plain values (the worker reads them from the case)."""

    case_id: str
    version: int
    kind: LetterKind
    recipient: str
    name: str  # whom the letter greets
    org_name: str
    address: str  # the organisation's address as the form gives it
    cvr: str
    amount: Decimal | None = None  # granted
    applied: Decimal | None = None  # applied for (the budget's lines)
    fte: Decimal | None = None
    years: tuple[int, ...] = ()
    plan: tuple[tuple[str, Decimal], ...] = ()  # (quarter in Danish, payout)
    reason: str = ""
    corrects: dt.date | None = None  # the day the letter this one corrects was made


def dedupe_key(case_id: str, version: int) -> str:
    """One letter per case and decision version, ever."""
    return f"letter:{case_id}:v{version}"


def subject(facts: LetterFacts, pool_name: str) -> str:
    """``[PSV-2025-0001] Bevilling: Pulje til sociale viceværter`` (``Rettet bevilling`` for a correction)."""
    words = labels()["subjects"]
    key = "grant" if facts.kind == LetterKind.GRANT else "rejection"
    word = words[f"{key}_correction" if facts.corrects else key]
    return f"[{facts.case_id}] {word}: {pool_name}"


def context(facts: LetterFacts, setup: ReceiptSetup) -> dict[str, Any]:
    """Everything the letter templates show."""
    pool = setup.pool
    reduced = facts.applied is not None and facts.amount is not None and facts.amount < facts.applied
    return {
        "subject": subject(facts, pool.name), "case_id": facts.case_id, "name": facts.name,
        "org_name": facts.org_name, "cvr": facts.cvr, "pool": pool, "dates": pool_dates(pool),
        "amount": kroner(facts.amount), "applied": kroner(facts.applied), "reduced": reduced,
        "fte": number_da(facts.fte) if facts.fte is not None else "", "fte_one": facts.fte == 1,
        "years": and_list(str(y) for y in facts.years),
        "plan": [(label, kroner(value)) for label, value in facts.plan],
        "parts": [_part_line(pool.documentation_parts[k], k in pool.documentation_required)
                  for k in pool.documentation_parts],
        "reason": facts.reason, "correction": date_da(facts.corrects) if facts.corrects else "",
    }


def _part_line(name: str, required: bool) -> str:
    return name if required else f"{name}, hvis I har brugt nogen i kvartalet"


def render(facts: LetterFacts, setup: ReceiptSetup, now: dt.datetime) -> tuple[str, str, str, bytes]:
    """(subject, text, HTML, PDF) of one letter."""
    ctx = context(facts, setup)
    env = environment()
    base = f"letter-{facts.kind}"
    text = tidy_text(env.get_template(f"{base}.txt.j2").render(**ctx, for_pdf=False))
    html = env.get_template(f"{base}.html.j2").render(**ctx)
    pool = setup.pool
    pdf = letter_pdf(
        title=ctx["subject"], sender=[pool.owner, pool.name, pool.inbox],
        recipient=[facts.org_name, *facts.address.split("\n"), f"Att.: {facts.name}" if facts.name else ""],
        meta=[date_da(now.astimezone(pool.timezone).date()), f"Sagsnummer: {facts.case_id}"],
        text=tidy_text(env.get_template(f"{base}.txt.j2").render(**ctx, for_pdf=True)))
    return ctx["subject"], text, html, pdf


def pdf_name(facts: LetterFacts) -> str:
    """The attachment's file name: ``Afgørelse PSV-2025-0001.pdf`` (``Rettet afgørelse …``)."""
    return f"{'Rettet afgørelse' if facts.corrects else 'Afgørelse'} {facts.case_id}.pdf"


def attach(rendered: Rendered, filename: str, data: bytes, mime: str = "application/pdf") -> Rendered:
    """The same mail (same Message-ID) with a file attached."""
    msg = message_from_bytes(rendered.raw, _class=EmailMessage, policy=email.policy.SMTP)
    assert isinstance(msg, EmailMessage)  # _class makes it one
    maintype, subtype = mime.split("/", 1)
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return Rendered(message_id=rendered.message_id, subject=rendered.subject,
                    raw=msg.as_bytes(policy=email.policy.SMTP), headers=dict(rendered.headers))


def build(facts: LetterFacts, setup: ReceiptSetup, now: dt.datetime, in_reply_to: str | None,
          references: list[str]) -> tuple[Rendered, bytes]:
    """The finished letter mail with its PDF attached, and the PDF alone."""
    title, text, html, pdf = render(facts, setup, now)
    rendered = build_message(sender=setup.sender, to_addr=facts.recipient, to_name=facts.name or None,
                             subject=title, text=text, html=html, now=now, auto_submitted="auto-generated",
                             in_reply_to=in_reply_to, references=references)
    return attach(rendered, pdf_name(facts), pdf), pdf
