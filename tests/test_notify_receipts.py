"""Receipts end to end: mail in through the real pipeline, receipts out through a real SMTP server."""

from __future__ import annotations

import datetime as dt
import re

from notify_helpers import (
    BUDGET_PROBLEM,
    CVR_PROBLEM,
    FULLTIME_WARNING,
    GOOD_BUDGET,
    GOOD_FIELDS,
    REPORT,
    application,
    case_count,
    deliver,
    extraction_says,
    ingest,
    outbox_rows,
)
from sqlalchemy import select

from intake.cases.reprocess import reprocess
from intake.commands import views
from intake.documents.samples import SampleMail, make_mail, minimal_pdf
from intake.service import poll_once
from store import repository as repo
from store.db import transaction
from store.models import RawMessage

pytest_plugins = ["smtp_sink"]


def _recent(clock, minutes: int) -> dt.datetime:
    return clock.now - dt.timedelta(minutes=minutes)


def test_every_application_and_report_gets_exactly_one_receipt_naming_its_problems(
        make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml())
    extraction_says(app, {
        "mette@boligselskabet-nord.dk": {"fields": GOOD_FIELDS, "budget": GOOD_BUDGET,
                                         "problems": [FULLTIME_WARNING]},
        "jens@bf-syd.dk": {"problems": [CVR_PROBLEM, BUDGET_PROBLEM]},
    })
    originals = [
        application("nord", "Mette Hansen <mette@boligselskabet-nord.dk>", _recent(clock, 50)),
        application("syd", "Jens Ølgaard <jens@bf-syd.dk>", _recent(clock, 40),
                    subject="SV: ansoegning - pulje til sociale vicevaerter - Boligforeningen Syd"),
        SampleMail("report", make_mail(REPORT, sender="Anne Vestergaard <anne@vestbo.dk>", domain="vestbo.dk",
                                       attachments=[("Ledelseserklæring.pdf", minimal_pdf(), "application/pdf")]),
                   _recent(clock, 30)),
        SampleMail("ooo", make_mail("Automatisk svar: Ansøgning – Pulje til sociale viceværter",
                                    sender="Kontoret <kontor@bf-syd.dk>", domain="bf-syd.dk",
                                    headers={"Auto-Submitted": "auto-replied"}), _recent(clock, 20)),
        SampleMail("question", make_mail("Spørgsmål", sender="Lars <lars@kirkebo.dk>", domain="kirkebo.dk"),
                   _recent(clock, 10)),
    ]
    # Vestbo's application was granted earlier, so its final report joins that case
    deliver(workdir, application("vest", "Anne Vestergaard <anne@vestbo.dk>", _recent(clock, 600)))
    poll_once(app)
    with transaction(app.context.factory) as s:
        repo.get_case(s, "PSV-2025-0001").status = "bevilget"
    earlier = len(smtp_sink.messages)

    deliver(workdir, *originals)
    poll_once(app)

    new = smtp_sink.messages[earlier:]
    assert len(new) == 3
    by_to = {m.rcpt_tos[0]: m for m in new}
    assert set(by_to) == {"mette@boligselskabet-nord.dk", "jens@bf-syd.dk", "anne@vestbo.dk"}

    syd = by_to["jens@bf-syd.dk"]
    # our own words, the case tag and the first 60 characters of theirs (issue #9), without
    # repeating the reply prefix after our own subject word (issue #14)
    assert syd.subject == "[PSV-2025-0003] Kvittering: ansoegning - pulje til sociale vicevaerter - Boligforeninge…"
    text = syd.text()
    assert CVR_PROBLEM["message"] in text and BUDGET_PROBLEM["message"] in text
    assert f"- {CVR_PROBLEM['message']}" in text and "CVR-nummer: CVR-nummeret" not in text
    assert "skal rettes" in text
    assert "Skema.pdf" in text or "Ansøgningsskema.pdf" in text
    assert "25. juli 2025 kl. 13.20" in text  # 11:20 UTC in Copenhagen summer time
    # a deadline with its time of day; the day the answer comes
    assert "senest 1. august 2025 kl. 23.59" in text and "30. september 2025" in text
    assert CVR_PROBLEM["message"] in syd.html()

    nord = by_to["mette@boligselskabet-nord.dk"]
    text = nord.text()
    assert "Boligselskabet Nord" in text and "Aarhus" in text and "1,5" in text
    assert "1.012.497,75 kr." in text and "1. januar 2026" in text
    assert FULLTIME_WARNING["message"] in text and "skal rettes" not in text

    assert "afrapportering" in by_to["anne@vestbo.dk"].text()

    # headers of an automatic answer that threads with the applicant's mail
    with app.context.factory() as s:
        syd_original = s.scalar(select(RawMessage.message_id).where(RawMessage.sender == "jens@bf-syd.dk",
                                                                    RawMessage.outcome == "case"))
    msg = syd.message
    assert msg["In-Reply-To"] == syd_original and syd_original in msg["References"]
    assert msg["Auto-Submitted"] == "auto-replied" and msg["X-Auto-Response-Suppress"] == "All"
    assert "pulje@bl.dk" in msg["Reply-To"] and "pulje@bl.dk" in msg["From"]
    assert msg["Message-ID"].endswith("@bl.dk>")
    html = syd.html()
    # inline styles only, nothing fetched from elsewhere; the one address is the privacy notice
    assert "style=" in html and "<link" not in html and "src=" not in html
    assert set(re.findall(r"https?://[^\"<\s]+", html)) == {"https://bl.dk/privatlivspolitik"}

    # reprocessing and polling again make no second receipt
    reprocess(app.context, [])
    poll_once(app)
    assert len(smtp_sink.messages) == 4
    rows = outbox_rows(app)
    assert len(rows) == 4 and {r.state for r in rows} == {"sent"}
    assert {r.message_id for r in rows} == {m.message_id for m in smtp_sink.messages}


def test_reply_to_a_receipt_joins_its_case_and_gets_no_answer(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml())
    deliver(workdir, application("nord", "Mette Hansen <mette@boligselskabet-nord.dk>", _recent(clock, 5)))
    poll_once(app)
    (receipt,) = smtp_sink.messages
    # a reply without new documents is a message on the case, not a new submission
    reply = make_mail(f"SV: {receipt.subject}", body="Tak. Hvornår hører vi fra jer?",
                      headers={"In-Reply-To": receipt.message_id, "References": receipt.message_id})
    # a new mail naming only the case tag joins the case too
    tagged = make_mail("Spørgsmål til PSV-2025-0001", body="Hvornår hører vi noget?")
    clock.advance(minutes=10)
    deliver(workdir, SampleMail("reply", reply, clock.now), SampleMail("tagged", tagged, clock.now))
    report = poll_once(app)

    assert report.processed == {"followup": 2}
    assert case_count(app) == 1
    assert len(outbox_rows(app)) == 1 and len(smtp_sink.messages) == 1
    with app.context.factory() as s:
        case = repo.get_case(s, "PSV-2025-0001")
        assert len(case.messages) == 3
        assert [e.kind for e in case.events] == ["created", "followup", "followup"]


def test_auto_replies_to_a_receipt_start_no_exchange(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml())
    deliver(workdir, application("nord", "Mette Hansen <mette@boligselskabet-nord.dk>", _recent(clock, 5)))
    poll_once(app)
    (receipt,) = smtp_sink.messages
    threading = {"In-Reply-To": receipt.message_id, "References": receipt.message_id}
    clock.advance(minutes=1)
    deliver(
        workdir,
        SampleMail("ooo", make_mail(f"Automatisk svar: {receipt.subject}", body="Jeg er på ferie.",
                                    headers={**threading, "Auto-Submitted": "auto-replied"}), clock.now),
        SampleMail("exchange-ooo", make_mail(f"Fraværende: {receipt.subject}", body="Ude af kontoret.",
                                             headers={**threading, "X-Autoreply": "yes"}), clock.now),
        SampleMail("bounce", make_mail(f"Undeliverable: {receipt.subject}", body="550 no such user",
                                       sender="MAILER-DAEMON <mailer-daemon@boligselskabet-nord.dk>",
                                       headers=threading), clock.now),
    )
    report = poll_once(app)
    assert report.processed == {"ignored": 3}
    assert len(outbox_rows(app)) == 1 and len(smtp_sink.messages) == 1


def test_application_from_a_noreply_or_our_own_address_gets_no_receipt_and_says_why(make_app, workdir, clock):
    app = make_app()
    deliver(workdir,
            application("portal", "Ansøgningsportal <noreply@portal.example.dk>", _recent(clock, 3)),
            application("dnr", "System <do-not-reply@kommune.example.dk>", _recent(clock, 2)))
    poll_once(app)
    assert case_count(app) == 2 and outbox_rows(app) == []
    with app.context.factory() as s:
        case = repo.get_case(s, "PSV-2025-0001")
        assert "no-reply address" in case.receipts_suppressed
        assert "no-reply address" in views.case_detail(s, case, app.pool)


def test_fifty_mails_from_one_sender_in_a_minute_get_at_most_the_rate_limit(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml(max_per_recipient_per_hour=5))
    start = clock.now - dt.timedelta(minutes=1)
    deliver(workdir, *[application(f"flood{i}", "Robot Hansen <robot@boligselskabet-nord.dk>",
                                   start + dt.timedelta(seconds=i)) for i in range(50)])
    poll_once(app)
    # one sender with no CVR: each new mail is a resubmission to the same case
    assert case_count(app) == 1
    rows = outbox_rows(app)
    assert len(rows) == 50  # every receipt is visible, most of them held back
    assert sum(r.state == "sent" for r in rows) == 5
    suppressed = [r for r in rows if r.state == "suppressed"]
    assert len(suppressed) == 45 and all("rate limit" in r.last_error for r in suppressed)
    assert len(smtp_sink.messages) == 5
    poll_once(app)
    assert len(smtp_sink.messages) == 5
    with app.context.factory() as s:
        case = repo.get_case(s, "PSV-2025-0001")
        assert len(case.submissions) == 50
        assert "rate limit" in case.receipts_suppressed


def test_first_import_of_an_old_inbox_sends_no_receipts_and_says_why_on_the_case(make_app, workdir, clock):
    app = make_app('[outbox]\nmax_receipt_age_hours = 72\n')
    deliver(workdir,
            application("old", "Mette Hansen <mette@boligselskabet-nord.dk>", clock.now - dt.timedelta(days=5)),
            application("fresh", "Jens Ølgaard <jens@bf-syd.dk>", clock.now - dt.timedelta(hours=2)))
    poll_once(app)
    rows = outbox_rows(app)
    assert [r.recipient for r in rows] == ["jens@bf-syd.dk"]
    with app.context.factory() as s:
        old = repo.get_case(s, "PSV-2025-0001")
        assert "arrived 120 hours ago" in old.receipts_suppressed
        assert "receipts:" in views.case_detail(s, old, app.pool)
        assert repo.get_case(s, "PSV-2025-0002").receipts_suppressed is None


def test_file_outbox_writes_one_eml_per_receipt(app, workdir, clock):
    deliver(workdir, application("nord", "Mette Hansen <mette@boligselskabet-nord.dk>", _recent(clock, 5)))
    poll_once(app)
    poll_once(app)
    (row,) = outbox_rows(app)
    files = sorted((workdir / "var" / "outbox").glob("*.eml"))
    assert [f.name for f in files] == [f"PSV-2025-0001-receipt-{row.id}.eml"]
    assert files[0].read_bytes() == row.raw and row.state == "sent"


def test_receipt_row_is_rolled_back_with_its_case(make_app, workdir, clock):
    """A failure after the hook ran undoes case and receipt together: no orphan receipt."""
    app = make_app()

    def explode(session, change):
        raise RuntimeError("disk full")

    app.context.hooks.append(explode)
    deliver(workdir, application("nord", "Mette Hansen <mette@boligselskabet-nord.dk>", _recent(clock, 5)))
    ingest(app)
    assert case_count(app) == 0 and outbox_rows(app) == []
    app.context.hooks.remove(explode)
    ingest(app)
    assert case_count(app) == 1 and len(outbox_rows(app)) == 1


def test_cases_show_lists_the_mails_made_for_a_case(make_app, workdir, clock):
    app = make_app('[outbox]\nmax_per_recipient_per_hour = 1\n')
    # the second mail from the same sender is a resubmission to the same case
    deliver(workdir,
            application("a", "Mette Hansen <mette@boligselskabet-nord.dk>", _recent(clock, 3)),
            application("b", "Mette Hansen <mette@boligselskabet-nord.dk>", _recent(clock, 2)))
    poll_once(app)
    with app.context.factory() as s:
        shown = views.case_detail(s, repo.get_case(s, "PSV-2025-0001"), app.pool)
    assert "receipt to mette@boligselskabet-nord.dk: sent, 1 attempt(s)" in shown
    assert "receipt to mette@boligselskabet-nord.dk: suppressed, 0 attempt(s)  (rate limit" in shown


def test_a_receipt_that_cannot_be_made_never_costs_the_case(make_app, workdir, clock, monkeypatch):
    import notifications.receipts as receipts

    def broken(*args, **kwargs):
        raise KeyError("template bug")

    monkeypatch.setattr(receipts, "render_letter", broken)
    app = make_app()
    deliver(workdir, application("nord", "Mette Hansen <mette@boligselskabet-nord.dk>", _recent(clock, 5)))
    poll_once(app)
    assert case_count(app) == 1 and outbox_rows(app) == []
    with app.context.factory() as s:
        assert "could not be made (KeyError" in repo.get_case(s, "PSV-2025-0001").receipts_suppressed


def test_the_sample_inbox_gets_one_receipt_per_case_and_none_for_the_rest(make_app, workdir, smtp_sink):
    from intake.documents.samples import demo_mail, write_maildir

    app = make_app(smtp_sink.settings_toml(max_receipt_age_hours=1000000))
    write_maildir(workdir / "mail", demo_mail())
    poll_once(app)
    poll_once(app)
    subjects = sorted(m.subject.split("]")[0] + "]" for m in smtp_sink.messages)
    by_case = {m.subject.split("]")[0] + "]": m.text() for m in smtp_sink.messages}
    assert "Ansøgningsfristen" in by_case["[PSV-2025-0003]"] or "frist" in by_case["[PSV-2025-0003]"]
    assert "CVR" in by_case["[PSV-2025-0002]"]
    assert subjects == ["[PSV-2025-0001]", "[PSV-2025-0002]", "[PSV-2025-0003]"]
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == [
        "anne@vestbo.dk", "jens@bf-syd.dk", "mette@boligselskabet-nord.dk"]
