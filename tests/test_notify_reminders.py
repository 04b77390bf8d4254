"""Reminders: due from the pool file's offsets, each (case, reminder) sent once, across restarts."""

from __future__ import annotations

import datetime as dt

from notify_helpers import CVR_PROBLEM, REPORT, application, deliver, ingest, outbox_rows
from sqlalchemy import func, select

from intake.commands import cli
from intake.documents.samples import SampleMail, make_mail
from intake.outbox import remind, remind_and_drain
from notifications.reminders import Rule, is_due
from store import repository as repo
from store.db import transaction
from store.models import JobState, OutboxMessage

pytest_plugins = ["smtp_sink"]

UTC = dt.UTC


def _cases_in_every_state(app, workdir, clock):
    """PSV-1 mangler (with a problem), PSV-2 bevilget, PSV-3 bevilget with a report, PSV-4 komplet."""
    t = clock.now - dt.timedelta(minutes=30)
    deliver(workdir,
            application("a", "Mette Hansen <mette@boligselskabet-nord.dk>", t),
            application("b", "Jens Ølgaard <jens@bf-syd.dk>", t + dt.timedelta(minutes=1)),
            application("c", "Anne Vestergaard <anne@vestbo.dk>", t + dt.timedelta(minutes=2)),
            application("d", "Lars Kirk <lars@kirkebo.dk>", t + dt.timedelta(minutes=3)))
    ingest(app)
    with transaction(app.context.factory) as s:
        one, two, three, four = (repo.get_case(s, f"PSV-2025-000{i}") for i in range(1, 5))
        one.status = "mangler"
        one.submissions[-1].problems = [CVR_PROBLEM]
        two.status, two.granted_amount = "bevilget", "1012497.75"
        three.status = "bevilget"
        four.status = "komplet"
    # the grantee's report joins its granted application (same sender)
    deliver(workdir,
            SampleMail("r", make_mail(REPORT, sender="Anne Vestergaard <anne@vestbo.dk>", domain="vestbo.dk"),
                       t + dt.timedelta(minutes=4)))
    ingest(app)
    with app.context.factory() as s:
        assert repo.get_case(s, "PSV-2025-0005").parent_pk == repo.get_case(s, "PSV-2025-0003").id


def _reminders_in(sink) -> list[tuple[str, str]]:
    return sorted((m.rcpt_tos[0], m.subject) for m in sink.messages if "Kvittering" not in m.subject)


def test_each_reminder_goes_once_across_ten_runs_and_a_restart(make_app, workdir, clock, smtp_sink):
    clock.now = dt.datetime(2025, 7, 28, 8, 0, tzinfo=UTC)  # 4 days before the application deadline
    app = make_app(smtp_sink.settings_toml())
    _cases_in_every_state(app, workdir, clock)
    for i in range(10):
        if i == 5:
            app = make_app(smtp_sink.settings_toml())  # restart: a new worker on the same database
        remind_and_drain(app)
        clock.advance(hours=1)
    sent = _reminders_in(smtp_sink)
    assert sent == [("mette@boligselskabet-nord.dk",
                     "[PSV-2025-0001] Påmindelse: jeres ansøgning mangler stadig noget")]
    reminder = next(m for m in smtp_sink.messages if "Påmindelse" in m.subject)
    text = reminder.text()
    assert CVR_PROBLEM["message"] in text and "Ansøgningsfristen er 1. august 2025 kl. 23.59." in text
    # it threads under the receipt the applicant got, and says it is automatic and ours
    receipt = next(m for m in smtp_sink.messages
                   if m.subject.startswith("[PSV-2025-0001] Kvittering") and m.rcpt_tos == [reminder.rcpt_tos[0]])
    assert reminder.message["In-Reply-To"] == receipt.message_id
    assert receipt.message_id in reminder.message["References"].split()
    assert reminder.message["Auto-Submitted"] == "auto-generated" and reminder.message["X-Loop"] == "pulje@bl.dk"

    # a month before the report deadline: only the grantee without a report
    clock.now = dt.datetime(2028, 1, 5, 8, 0, tzinfo=UTC)
    for _ in range(3):
        remind_and_drain(make_app(smtp_sink.settings_toml()))
    # a week after it: the overdue reminder, once
    clock.now = dt.datetime(2028, 2, 8, 8, 0, tzinfo=UTC)
    for _ in range(3):
        remind_and_drain(make_app(smtp_sink.settings_toml()))
    sent = _reminders_in(smtp_sink)
    assert [s for s in sent if s[0] == "jens@bf-syd.dk"] == [
        ("jens@bf-syd.dk", "[PSV-2025-0002] Påmindelse: afrapporteringen er ikke kommet frem"),
        ("jens@bf-syd.dk", "[PSV-2025-0002] Påmindelse: afrapporteringen skal være hos os senest 31. januar 2028 kl. 23.59"),
    ]
    assert len(sent) == 3  # nobody else: PSV-3 has its report, PSV-4 is complete
    due_soon = next(m for m in smtp_sink.messages if "senest 31. januar 2028" in m.subject)
    assert "Afrapportering pulje til sociale viceværter" in due_soon.text()
    assert due_soon.message["Auto-Submitted"] == "auto-generated"
    keys = {r.dedupe_key for r in outbox_rows(app) if r.purpose.startswith("reminder")}
    assert keys == {"reminder:PSV-2025-0001:application-open-problems",
                    "reminder:PSV-2025-0002:report-due-soon", "reminder:PSV-2025-0002:report-overdue"}


def test_remind_dry_run_lists_and_writes_nothing(make_app, workdir, clock, monkeypatch, capsys):
    clock.now = dt.datetime(2025, 7, 28, 8, 0, tzinfo=UTC)
    app = make_app()
    _cases_in_every_state(app, workdir, clock)
    with app.context.factory() as s:
        before = s.scalar(select(func.count()).select_from(OutboxMessage))

    monkeypatch.setattr(cli, "_app", lambda args: app)
    assert cli.main(["remind", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "PSV-2025-0001  application-open-problems  mette@boligselskabet-nord.dk  would send" in out
    assert "dry run, nothing written" in out
    with app.context.factory() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == before
        assert s.get(JobState, "reminders") is None

    assert cli.main(["remind"]) == 0
    assert "1 reminder(s) queued" in capsys.readouterr().out
    with app.context.factory() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == before + 1
        assert s.get(JobState, "reminders").last_run_at == clock.now
    assert remind(app, dry_run=True) == []


def test_before_reminders_stop_at_the_deadline_and_after_reminders_start_after_it():
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Copenhagen")
    dates = {"application_deadline": dt.date(2025, 8, 1), "report_deadline": dt.date(2028, 1, 31)}
    before = Rule("application-open-problems", "application_deadline", -7, "application_with_problems")
    after = Rule("report-overdue", "report_deadline", 7, "granted_without_report")

    def local(*args):
        return dt.datetime(*args, tzinfo=tz)

    assert not is_due(before, dates, tz, local(2025, 7, 24, 23, 59))
    assert is_due(before, dates, tz, local(2025, 7, 25, 0, 0))
    assert is_due(before, dates, tz, local(2025, 8, 1, 23, 59))
    assert not is_due(before, dates, tz, local(2025, 8, 2, 0, 0))
    assert not is_due(after, dates, tz, local(2028, 2, 6, 23, 59))
    assert is_due(after, dates, tz, local(2028, 2, 7, 0, 0))
    assert is_due(after, dates, tz, local(2029, 1, 1, 0, 0))


def test_service_runs_the_drain_and_the_reminders_on_the_configured_intervals(make_app):
    from intake.service import after_poll_jobs, scheduled_jobs

    app = make_app("[schedule]\ndrain_seconds = 15\nremind_seconds = 900\n")
    jobs = {job_id: seconds for job_id, _func, seconds in scheduled_jobs(app)}
    assert jobs == {"outbox": 15.0, "reminders": 900.0, "digest": 300.0}
    assert len(after_poll_jobs(app)) == 1


def test_a_reminder_without_templates_or_with_an_unknown_group_is_a_clear_config_error(make_app):
    import dataclasses

    import pytest

    from intake.errors import ConfigError
    from intake.outbox import reminder_rules
    from intake.pool import Reminder

    pool = make_app().pool
    assert [r.id for r in reminder_rules(pool)] == ["application-open-problems", "report-due-soon",
                                                    "report-overdue"]
    odd = dataclasses.replace(pool, reminders=(Reminder("x", "report_deadline", 1, "everyone"),))
    with pytest.raises(ConfigError, match="applies_to must be one of"):
        reminder_rules(odd)
    missing = dataclasses.replace(pool, reminders=(Reminder("x", "report_deadline", 1, "granted_without_report"),))
    with pytest.raises(ConfigError, match="reminder-x.txt.j2"):
        reminder_rules(missing)


def test_a_reminder_over_the_rate_limit_waits_for_a_later_run(make_app, workdir, clock, smtp_sink):
    clock.now = dt.datetime(2025, 7, 28, 8, 0, tzinfo=UTC)
    app = make_app(smtp_sink.settings_toml(max_per_recipient_per_hour=1))
    _cases_in_every_state(app, workdir, clock)  # the receipt to Mette uses up her hour
    planned = remind(app)
    assert [p.state for p in planned] == ["deferred: rate limit: mette@boligselskabet-nord.dk already has "
                                          "1 mail(s) from us in the last hour (limit 1)"]
    clock.advance(hours=1, minutes=1)
    remind_and_drain(app)
    assert _reminders_in(smtp_sink) == [("mette@boligselskabet-nord.dk",
                                         "[PSV-2025-0001] Påmindelse: jeres ansøgning mangler stadig noget")]
