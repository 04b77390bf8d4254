"""Issues #9 and #10: a worker killed while reading a mail, and a worker asked to stop.

* ``poll`` killed with SIGKILL (its whole process group: the worker, the fork server and the
  reading child) while it reads one message, ``max_attempts`` times: each kill counted as an
  attempt, and the message ends quarantined with a reason saying the last attempt did not finish;
  the other mails are processed.
* SIGTERM to ``run`` with a backlog of 100 stored messages: it finishes the message in hand and
  exits by itself, leaving most of the backlog; the next ``poll`` processes the rest, each once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import hostile
from conftest import write_settings
from sqlalchemy import create_engine, func, select

from intake.commands.cli import main
from intake.documents.samples import SampleMail, make_mail, write_maildir
from store.models import Case, RawMessage
from store.words import MessageState

NOW = dt.datetime(2025, 7, 20, 10, 0, tzinfo=dt.UTC)


def _wait_for(predicate, limit: float = 90.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _start(settings, command: str) -> subprocess.Popen:
    """The worker in a session of its own, so that its whole process group can be signalled."""
    return subprocess.Popen([sys.executable, "-m", "intake.commands.cli", "--config", str(settings), command],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def test_a_worker_killed_while_reading_counts_and_the_message_ends_quarantined(workdir, db_url):
    cvrs = hostile.valid_cvrs(2)
    (first, values1), (second, values2) = (hostile.normal_application(i, cvrs[i]) for i in range(2))
    slow = hostile.application_with("langsom.dk", None, hostile.xlsx_no_dimension(200_000))
    write_maildir(workdir / "mail", [SampleMail("a-slow", slow, NOW),
                                     SampleMail("b-first", first, NOW + dt.timedelta(seconds=1)),
                                     SampleMail("c-second", second, NOW + dt.timedelta(seconds=2))])
    # a short lease, so that the test waits for a dead worker's claim to run out only briefly
    settings = write_settings(workdir, db_url, "[processing]\nmax_sheet_cells = 5000000\n"
                                               "child_wall_seconds = 6\nclaim_seconds = 7\nreaders = 1\n")
    engine = create_engine(db_url)

    def slow_row():
        try:
            with engine.connect() as conn:
                return conn.execute(select(RawMessage.attempts, RawMessage.claimed_until, RawMessage.state)
                                    .order_by(RawMessage.size.desc()).limit(1)).first()
        except Exception:  # the schema is not made yet
            return None

    try:
        for attempt in (1, 2, 3):
            worker = _start(settings, "poll")
            try:  # kill it as soon as it has claimed the slow mail: it is reading it now
                assert _wait_for(lambda n=attempt: (row := slow_row()) is not None and row.attempts == n
                                 and row.claimed_until is not None), worker.communicate(timeout=60)[0]
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=60)
            finally:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
            assert worker.returncode == -signal.SIGKILL
            row = slow_row()
            assert (row.state, row.attempts) == (MessageState.STORED, attempt)  # the kill counted
            # the dead worker's claim runs out after claim_seconds
            assert _wait_for(lambda: slow_row().claimed_until.replace(tzinfo=dt.UTC) < dt.datetime.now(dt.UTC),
                             limit=30)
        done = subprocess.run([sys.executable, "-m", "intake.commands.cli", "--config", str(settings), "poll"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        print(done.stdout)
        with engine.connect() as conn:
            rows = conn.execute(select(RawMessage.id, RawMessage.state, RawMessage.attempts, RawMessage.reason)
                                .order_by(RawMessage.size.desc())).all()
            slow_msg, *others = rows
            assert (slow_msg.state, slow_msg.attempts) == (MessageState.QUARANTINED, 3)
            assert slow_msg.reason == "gave up after 3 attempts; the last one did not finish (killed or timed out)"
            # the other mails were processed, each once
            assert [(r.state, r.attempts) for r in others] == [(MessageState.PROCESSED, 1)] * 2
            cvrs_read = set(conn.execute(select(Case.cvr)).scalars())
            assert cvrs_read == {values1["cvr"], values2["cvr"]}
    finally:
        engine.dispose()
    assert "processed: quarantined 1" in done.stdout


def test_sigterm_stops_run_after_the_message_in_hand_and_the_next_poll_does_the_rest(workdir, db_url):
    backlog = 100
    write_maildir(workdir / "mail", [
        SampleMail(f"m{i:03d}", make_mail("Ansøgning – Pulje til sociale viceværter", body=f"nr {i}",
                                          sender=f"Afsender {i} <post@forening{i}.dk>", domain=f"forening{i}.dk"),
                   NOW + dt.timedelta(seconds=i))
        for i in range(backlog)])
    settings = write_settings(workdir, db_url)
    engine = create_engine(db_url)

    def processed() -> int:
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(RawMessage)
                                    .where(RawMessage.state == MessageState.PROCESSED)).scalar()
        except Exception:  # the schema is not made yet
            return 0

    try:
        worker = _start(settings, "run")
        try:
            assert _wait_for(lambda: processed() >= 1), "run processed nothing"
            worker.send_signal(signal.SIGTERM)
            out, _ = worker.communicate(timeout=120)  # a generous bound: it must exit by itself
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        assert worker.returncode == 0, out
        assert "message(s) left for the next start" in out and "pulje-intake stopped" in out
        assert "Traceback" not in out
        left = backlog - processed()
        print(f"SIGTERM with a backlog of {backlog}: {backlog - left} processed, {left} left for the next start")
        assert left > backlog // 2  # the stop did not work through the backlog

        assert main(["--config", str(settings), "-q", "poll"]) == 0
        with engine.connect() as conn:
            rows = conn.execute(select(RawMessage.state, RawMessage.attempts)).all()
            assert rows == [(MessageState.PROCESSED, 1)] * backlog  # each once
            assert conn.execute(select(func.count(func.distinct(Case.sender)))).scalar() == backlog
            assert conn.execute(select(func.count()).select_from(Case)).scalar() == backlog
    finally:
        engine.dispose()
