"""Helpers for the notification tests: mails near the test clock, problems, ingest without draining."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from intake.documents.samples import SampleMail, make_mail, minimal_pdf, write_maildir
from intake.service import process
from intake.sources.fetching import fetch_all
from store.models import Case, OutboxMessage

APPLICATION = "Ansøgning – Pulje til sociale viceværter"
REPORT = "Afrapportering pulje til sociale viceværter"

CVR_PROBLEM = {"code": "cvr_check_digit", "field": "cvr",
               "message": "CVR-nummeret 12345679 passer ikke med kontrolcifferet. Tjek nummeret og send skemaet igen.",
               "severity": "error"}
BUDGET_PROBLEM = {"code": "budget_missing", "field": "budget",
                  "message": "Vi fandt intet budget i mailen. Vedhæft budgetskabelonen udfyldt som Excel-fil.",
                  "severity": "error"}
FULLTIME_WARNING = {"code": "hours_below_norm", "field": None,
                    "message": "Timetallet ligger under årsnormen på 1.649 timer; vi vurderer om stillingen er på fuld tid.",
                    "severity": "warning"}
GOOD_FIELDS = {
    "org_name": {"value": "Boligselskabet Nord", "raw": "Boligselskabet Nord", "source": "PDF field 'org_name'"},
    "cvr": {"value": "12345674", "raw": "12 34 56 74", "source": "PDF field 'cvr'"},
    "municipality": {"value": "Aarhus", "raw": "Aarhus Kommune", "source": "PDF field 'municipality'"},
    "fte": {"value": "1.5", "raw": "1,5", "source": "PDF field 'fte'"},
    "start_date": {"value": "2026-01-01", "raw": "1.1.2026", "source": "PDF field 'start_date'"},
    "amount_requested": {"value": "1012497.75", "raw": "1.012.497,75", "source": "PDF field 'amount_requested'"},
}
GOOD_BUDGET = {"lines": [], "total": "1012497.75", "total_source": "cell Budget!E9 (name total)",
               "recomputed": []}


def application(name: str, sender: str, received: dt.datetime, subject: str = APPLICATION,
                headers: dict[str, str] | None = None, **kw) -> SampleMail:
    """An application mail with a form PDF, from ``sender`` ("Name <addr>")."""
    domain = sender.split("@")[-1].rstrip(">")
    raw = make_mail(subject, sender=sender, domain=domain, headers=headers,
                    attachments=[("Ansøgningsskema.pdf", minimal_pdf(), "application/pdf")], **kw)
    return SampleMail(name, raw, received)


def deliver(workdir, *mails: SampleMail) -> None:
    """Put mails into the test Maildir."""
    write_maildir(workdir / "mail", list(mails))


def ingest(app) -> None:
    """Fetch and process, without the drain that ``poll_once`` runs afterwards."""
    for source in app.make_sources():
        fetch_all(source, app.context.factory, app.context.now)
        source.close()
    process(app)


def extraction_says(app, by_sender: dict[str, dict]) -> None:
    """Stand in for extraction: set fields/budget/problems on a new submission before the receipt hook.

    ``by_sender`` maps a sender address to ``{"fields": ..., "budget": ..., "problems": ...}``.
    """
    def hook(session, change):
        if change.submission is None:
            return
        said = by_sender.get(change.mail.from_addr)
        if said:
            change.submission.fields = said.get("fields", {})
            change.submission.budget = said.get("budget", {})
            change.submission.problems = said.get("problems", [])
            session.flush()

    app.context.hooks.insert(0, hook)


def outbox_rows(app) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    with app.context.factory() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def case_count(app) -> int:
    """How many cases exist."""
    with app.context.factory() as s:
        return s.scalar(select(func.count()).select_from(Case))
