"""A decided round for the grant tests: the demo's applications through the real pipeline,
then the committee's decisions, with mail going to a real SMTP sink."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from decimal import Decimal

from intake.committee.decisions import record_decision
from intake.documents.samples import SampleMail, demo_mail, make_mail, minimal_pdf, write_maildir
from intake.service import poll_once
from store import repository as repo
from store.db import transaction

UTC = dt.UTC
NORD, SYD, VEST = "PSV-2025-0001", "PSV-2025-0002", "PSV-2025-0003"
METTE = "Mette Hansen <mette@boligselskabet-nord.dk>"
REASON = "Området har ikke det behov, puljen er til for."
PDF = "application/pdf"


def decided_round(make_app, workdir, clock, sink, extra: str = ""):
    """Nord granted 1.012.497,75 kr. (in full), Vest rejected with a reason, Syd undecided."""
    clock.now = dt.datetime(2025, 8, 20, 8, 0, tzinfo=UTC)
    app = make_app(sink.settings_toml(max_receipt_age_hours=1000000) + extra)
    write_maildir(workdir / "mail", demo_mail())
    poll_once(app)
    decide(app, NORD, "bevilget", Decimal("1012497.75"))
    decide(app, VEST, "afslag", None, REASON)
    return app


def decide(app, case_id: str, decision: str, amount: Decimal | None, reason: str | None = None) -> None:
    """Record a committee decision as the sheet or the case page would."""
    with transaction(app.context.factory) as s:
        record_decision(s, repo.get_case(s, case_id), decision, amount, app.context.now(), "test", reason)


def documentation(subject: str, files: list[tuple[str, str]], sender: str = METTE, body: str = "Hermed.",
                  at: dt.datetime | None = None, headers: dict[str, str] | None = None) -> SampleMail:
    """A documentation mail with PDFs ``(file name, first line of text)``."""
    at = at or dt.datetime(2026, 4, 14, 9, 30, tzinfo=UTC)
    domain = sender.split("@")[-1].rstrip(">")
    raw = make_mail(subject, sender=sender, domain=domain, body=body, headers=headers,
                    attachments=[(name, minimal_pdf(text), PDF) for name, text in files], date=at)
    return SampleMail(subject[:20], raw, at)


def deliver(workdir, *mails: SampleMail) -> None:
    """Put mails into the test Maildir."""
    write_maildir(workdir / "mail", list(mails))


def attachments(received) -> dict[str, bytes]:
    """The attachments of a received mail by file name."""
    msg = email.message_from_bytes(received.raw, policy=email.policy.default)
    return {part.get_filename(): part.get_content() for part in msg.walk() if part.get_filename()}


def mails_to(sink, address: str, word: str = "") -> list:
    """Mail the sink received for ``address`` whose subject holds ``word``."""
    return [m for m in sink.messages if m.rcpt_tos == [address] and word in m.subject]
