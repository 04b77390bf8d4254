"""``pulje-intake status`` in each state, with the exit code a monitor alerts on."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from conftest import write_settings
from notify_helpers import application, deliver
from reading_helpers import crash_reading

from intake.commands.status import age, gather, next_digest, status_command
from intake.documents.samples import demo_mail, write_maildir
from intake.service import poll_once
from store.db import transaction
from store.models import JobState

pytest_plugins = ["smtp_sink"]

CPH = "Europe/Copenhagen"


def status(app, capsys) -> tuple[int, str]:
    code = status_command(app)
    return code, capsys.readouterr().out


def test_healthy_after_a_pass(app, workdir, capsys):
    write_maildir(workdir / "mail", demo_mail())
    poll_once(app)
    code, out = status(app, capsys)
    assert code == 0, out
    # the test clock is 2025-07-25 12:00 UTC: 14:00 in Copenhagen
    assert "  maildir:local/INBOX: last fetched 2025-07-25 14:00 (0 s ago)" in out
    assert "  0 waiting to be processed, 0 quarantined" in out
    assert "outbox (files)\n  0 waiting to be sent; 0 failed" in out
    assert "  digest: never sent; never sent while [outbox] staff is empty" in out
    assert "next reminder application-open-problems from 2025-07-25 00:00" not in out  # already open
    assert out.rstrip().endswith("verdict: healthy")


def test_never_fetched_is_unhealthy(app, workdir, capsys):
    write_maildir(workdir / "mail", [])  # an empty Maildir: its folder is INBOX
    code, out = status(app, capsys)
    assert code == 1
    assert "  maildir:local/INBOX: never fetched" in out
    assert "  - maildir:local/INBOX: never fetched (is the service running?)" in out


def test_a_stale_fetch_is_unhealthy(app, workdir, clock, capsys):
    write_maildir(workdir / "mail", demo_mail()[:1])
    poll_once(app)
    clock.advance(minutes=29)
    assert status(app, capsys)[0] == 0
    clock.advance(minutes=2)
    code, out = status(app, capsys)
    assert code == 1
    assert "  - maildir:local/INBOX: last fetched 31 min ago (limit 30 min: [status] max_fetch_age_minutes)" in out


def test_a_failing_folder_shows_its_error(make_app, capsys):
    app = make_app(sources='[[sources]]\ntype = "maildir"\nname = "local"\npath = "gone"\n')
    with pytest.raises(Exception, match="does not exist"):
        poll_once(app)
    code, out = status(app, capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if x.startswith("  maildir:local/."))
    assert "never fetched; failing since 2025-07-25 14:00: FileNotFoundError: mail folder" in line


def test_a_stuck_outbox_is_unhealthy(make_app, workdir, clock, capsys):
    from smtp_sink import free_port

    down = (f'[outbox]\nmode = "smtp"\n[outbox.smtp]\nhost = "127.0.0.1"\nport = {free_port()}\n'
            'security = "plain"\ntimeout_seconds = 5\n')
    app = make_app(down)
    deliver(workdir, application("a", "Mette <mette@boligselskabet-nord.dk>", clock.now))
    poll_once(app)  # the receipt is queued; the server is down
    code, out = status(app, capsys)
    assert code == 0, out
    assert "outbox (smtp)\n  1 waiting to be sent, the oldest queued 2025-07-25 14:00 (0 s ago)" in out
    clock.advance(minutes=61)
    poll_once(app)  # fetching goes on; the mail still cannot go
    code, out = status(app, capsys)
    assert code == 1
    assert "  - outbox: a mail has waited 1 h 1 min to be sent (limit 1 h: [status] max_outbox_wait_minutes)" in out


def test_quarantine_nobody_has_seen_is_unhealthy_until_shown(make_app, workdir, clock, capsys, monkeypatch):
    from intake.commands.quarantine import show

    app = make_app("[processing]\nmax_attempts = 1\n")
    deliver(workdir, application("a", "Mette <mette@boligselskabet-nord.dk>", clock.now))

    def crash(*args, **kwargs):
        raise RuntimeError("the form reader crashed")

    crash_reading(monkeypatch, crash)
    poll_once(app)
    code, out = status(app, capsys)
    assert code == 1
    assert "  0 waiting to be processed, 1 quarantined (1 not looked at yet)" in out
    assert "  - 1 quarantined mail(s) nobody has looked at" in out
    show(app, "1")
    code, out = status(app, capsys)
    assert code == 0, out
    assert "  0 waiting to be processed, 1 quarantined\n" in out


def test_next_jobs_from_the_schedule_and_the_job_states(make_app, workdir, clock, capsys):
    app = make_app('[outbox]\nstaff = ["sekretariat@bl.dk"]\n')
    write_maildir(workdir / "mail", demo_mail()[:1])
    poll_once(app)
    _, out = status(app, capsys)
    # 14:00 local, after the 07:00 digest time, none sent today: due now
    assert "  digest: never sent; next due now to 1 address(es)" in out
    with transaction(app.context.factory) as s:
        s.add(JobState(name="digest", last_run_at=clock.now, data={}))
        s.add(JobState(name="reminders", last_run_at=clock.now, data={}))
    _, out = status(app, capsys)
    assert "  digest: last sent 2025-07-25 14:00; next 2025-07-26 07:00 to 1 address(es)" in out
    assert "  reminders: last run 2025-07-25 14:00, next check 2025-07-25 15:00; next reminder " \
           "report-due-soon from 2028-01-01 00:00" in out


def test_next_digest_before_and_after_the_hour():
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(CPH)
    morning = dt.datetime(2025, 7, 25, 4, 0, tzinfo=dt.UTC)  # 06:00 local
    assert next_digest(morning, tz, 7.0, None) == dt.datetime(2025, 7, 25, 7, 0, tzinfo=tz)
    sent = dt.datetime(2025, 7, 25, 5, 1, tzinfo=dt.UTC)
    assert next_digest(sent, tz, 7.0, sent) == dt.datetime(2025, 7, 26, 7, 0, tzinfo=tz)


@pytest.mark.parametrize(("seconds", "text"), [(45, "45 s"), (600, "10 min"), (3600, "1 h"), (3900, "1 h 5 min"),
                                               (3 * 86400 + 7200, "3 d 2 h")])
def test_ages_read_like_a_person_says_them(seconds, text):
    assert age(dt.timedelta(seconds=seconds)) == text


def test_status_command_exit_codes(workdir, db_url):
    settings = write_settings(workdir, db_url)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "intake.commands.cli", "--config", str(settings), *args],
                              capture_output=True, text=True, timeout=120)

    fresh = run("status")
    assert fresh.returncode == 1 and "verdict: UNHEALTHY" in fresh.stdout, fresh.stdout + fresh.stderr
    assert run("poll").returncode == 0
    healthy = run("status")
    assert healthy.returncode == 0, healthy.stdout
    assert "verdict: healthy" in healthy.stdout and healthy.stderr == ""


def test_gather_reads_only_the_database(app):
    st = gather(app)  # no source is touched: the Maildir folder need not even exist for status
    assert st.lines[0] == "fetching"
