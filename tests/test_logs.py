"""What the worker says about one mail: the journal's plain lines, JSON lines, a terminal; progress.

Each test runs the real command line as a process, the way systemd, a log
shipper or a person at a terminal meets it, and reads what it wrote.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from zoneinfo import ZoneInfo

import pytest
from conftest import write_settings

from intake import progress
from intake.cases.reprocess import reprocess
from intake.documents.samples import SampleMail, make_mail, minimal_pdf, write_maildir
from intake.errors import TemporaryFailure
from intake.service import poll_once

APPLICATION = "Ansøgning – Pulje til sociale viceværter"
SENDER = "mette@boligselskabet-nord.dk"
CPH = ZoneInfo("Europe/Copenhagen")


def one_application(workdir) -> None:
    """One application that arrived just now (so it gets a receipt), file name ``m1``."""
    raw = make_mail(APPLICATION, sender=f"Mette Hansen <{SENDER}>",
                    attachments=[("Ansøgningsskema.pdf", minimal_pdf(), "application/pdf")])
    write_maildir(workdir / "mail", [SampleMail("m1", raw, dt.datetime.now(dt.UTC))])


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "intake.commands.cli", *args]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "PULJE_INTAKE_CONFIG")}
    return {**base, **extra}


def test_one_mail_in_the_journal_one_line_per_step_no_timestamps(workdir, db_url):
    settings = write_settings(workdir, db_url)
    one_application(workdir)
    # systemd connects stderr to the journal and names that stream in JOURNAL_STREAM (dev:inode)
    read_end, write_end = os.pipe()
    st = os.fstat(write_end)
    proc = subprocess.Popen(cli("--config", str(settings), "poll"), stdout=subprocess.PIPE, stderr=write_end,
                            env=env(JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}"), text=True)
    os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as journal:
        lines = journal.read().splitlines()
    proc.wait(timeout=120)
    assert proc.returncode == 0, lines
    expected = [
        r"<6>intake\.sources\.fetching: maildir:local/INBOX: UID \S+_m1\.demo stored as message 1 \(\d+ bytes\)",
        r"<6>intake\.cases\.pipeline: message 1 → case PSV-2025-0001: .*application",
        rf"<6>intake\.outbox: message 1: receipt to {SENDER} queued as outbox 1",
        rf"<6>notifications\.drain: outbox 1 sent: receipt to {SENDER} \(PSV-2025-0001\)",
    ]
    for pattern in expected:
        assert [line for line in lines if re.fullmatch(pattern, line)], (pattern, lines)
    assert all(line.startswith("<") for line in lines), lines  # journald adds the time; we do not
    assert "processed: case 1" in proc.stdout.read()


def test_one_mail_as_json_lines_with_its_ids(workdir, db_url):
    settings = write_settings(workdir, db_url)
    one_application(workdir)
    r = subprocess.run(cli("--config", str(settings), "--log-format", "json", "poll"), capture_output=True,
                       text=True, env=env(), timeout=120)
    assert r.returncode == 0, r.stderr
    entries = [json.loads(line) for line in r.stderr.splitlines()]
    about_mail = {e["logger"]: e for e in entries if e.get("mail") == 1}
    fetched, routed, receipt = (about_mail[name] for name in
                                ("intake.sources.fetching", "intake.cases.pipeline", "intake.outbox"))
    assert (fetched["source"], fetched["folder"], fetched["level"]) == ("maildir:local", "INBOX", "info")
    assert fetched["logger"] == "intake.sources.fetching" and "stored as message 1" in fetched["message"]
    assert routed["case_id"] == "PSV-2025-0001" and routed["message"].startswith("message 1 → case PSV-2025-0001")
    assert (receipt["outbox"], receipt["case_id"]) == (1, "PSV-2025-0001")
    sent = next(e for e in entries if e["logger"] == "notifications.drain" and e.get("outbox") == 1)
    assert sent["message"] == f"outbox 1 sent: receipt to {SENDER} (PSV-2025-0001)"
    when = dt.datetime.fromisoformat(fetched["time"])
    assert when.utcoffset() == dt.datetime.now(CPH).utcoffset()  # Copenhagen time, with its offset
    assert r.stdout.startswith("maildir:local: 1 new, 1 stored")


def run_on_terminal(args: list[str], environment: dict[str, str]) -> str:
    """Run with stdout and stderr on a pseudo-terminal; everything it wrote, in order."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=environment)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed: the process is done
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    proc.wait(timeout=60)
    assert proc.returncode == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


def test_terminal_lines_carry_copenhagen_time_whatever_the_machine_zone(workdir, db_url):
    settings = write_settings(workdir, db_url)
    one_application(workdir)
    out = run_on_terminal(cli("--config", str(settings), "poll"), env(TZ="UTC"))
    line = next(x for x in out.splitlines() if "stored as message 1" in x)
    stamp = dt.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CPH)
    assert abs(dt.datetime.now(dt.UTC) - stamp) < dt.timedelta(minutes=5)  # local time, not UTC read as local
    assert line[19:].startswith(" INFO intake.sources.fetching: maildir:local/INBOX: UID")


def many_mails(workdir, n: int) -> None:
    write_maildir(workdir / "mail", [
        SampleMail(f"q{i}", make_mail(f"Spørgsmål {i}", sender=f"Person {i} <p{i}@example.dk>"),
                   dt.datetime(2025, 7, 20, 12, 0, tzinfo=dt.UTC)) for i in range(n)])


def test_reprocess_on_a_terminal_shows_a_bar_with_count_total_and_rate(workdir, db_url):
    settings = write_settings(workdir, db_url)
    many_mails(workdir, 30)
    first = subprocess.run(cli("--config", str(settings), "-q", "poll"), capture_output=True, text=True,
                           env=env(), timeout=120)
    assert first.returncode == 0, first.stderr
    out = run_on_terminal(cli("--config", str(settings), "-q", "reprocess"), env())
    assert re.search(r"processing: 100%\|.*\| 30/30 \[[^\]]*[\d.]+mail/s\]", out), out
    assert "reprocessed: triage 30" in out


def test_without_a_terminal_progress_is_a_log_line_every_n_messages(app, workdir, monkeypatch, caplog):
    monkeypatch.setattr(progress, "EVERY", 10)
    many_mails(workdir, 25)
    poll_once(app)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="intake.progress")
    reprocess(app.context, [])
    lines = [r.getMessage() for r in caplog.records if r.name == "intake.progress"]
    assert [line.split(",")[0] for line in lines[:2]] == ["processing: 10 of 25 mails (40 %)",
                                                           "processing: 20 of 25 mails (80 %)"]
    assert re.fullmatch(r"\d+\.\d mails/s", lines[0].split(", ")[1])
    assert re.fullmatch(r"processing: 25 of 25 mails in \d+ s", lines[2])


def test_poll_prints_nothing_itself(make_app, capsys):
    app = make_app(sources='[[sources]]\ntype = "maildir"\nname = "gone"\npath = "no-such-folder"\n')
    with pytest.raises(TemporaryFailure):
        poll_once(app)
    assert capsys.readouterr().out == ""
