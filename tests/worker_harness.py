"""Running the real worker as a process for fault tests: start, kill -9, stop, wait, read its log.

A :class:`Worker` starts ``pulje-intake run`` (or ``poll``) in its own process
group (``start_new_session``) with a settings file, its log appended to a file;
``kill()`` sends SIGKILL to the whole group, as an OOM killer or a power cut
would. :func:`wait_for` polls a condition with a generous bound and, on timeout,
fails with the worker's log and Dovecot's log, so a hang explains itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from store.models import Case, OutboxMessage, RawMessage
from store.repository import _dedupe_key

# a log line at warning level or worse, in the terminal format (time level logger: text)
# Settings for the fault tests: jobs every second, retries within two, and limits on
# receipts no test run reaches (each test counts its receipts itself).
LEAN = """
[schedule]
process_seconds = 1
drain_seconds = 1
retry_base_seconds = 1
retry_max_seconds = 2
"""
POLITE_ENOUGH = "max_per_recipient_per_hour = 1000\nmax_per_domain_per_hour = 1000\nmax_per_hour = 100000\n"

PROBLEM_LINE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b")


class Worker:
    """One ``pulje-intake`` process (see the module docstring)."""

    def __init__(self, settings: Path, log: Path, command: str = "run", verbose: bool = False):
        self.settings, self.log_path, self.command, self.verbose = settings, log, command, verbose
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Worker:
        """Start the process (again), appending to the same log."""
        env = {**os.environ, "PULJE_INTAKE_CONFIG": str(self.settings), "PYTHONUNBUFFERED": "1"}
        args = [sys.executable, "-m", "intake.commands.cli", *(["-v"] if self.verbose else []), self.command]
        with open(self.log_path, "ab") as out:
            out.write(f"=== start {self.starts + 1} at {dt.datetime.now(dt.UTC):%H:%M:%S.%f}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.starts += 1
        return self

    def wait_running(self, limit: float = 60.0) -> None:
        """Wait until this start logged that it runs (its signal handlers are in place by then)."""
        def running() -> bool:
            tail = self.log().rsplit("=== start", 1)[-1]
            return "pulje-intake running" in tail or not self.alive
        wait_for(running, "the worker to start", limit=limit, workers=[self])

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group and reap it."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        with open(self.log_path, "ab") as out:
            out.write(b"=== killed -9\n")

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM, wait for the exit (SIGKILL after ``timeout``); the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass
        return self.proc.returncode

    def wait(self, timeout: float = 120) -> int:
        """Wait for the process to end by itself (``poll``); its exit code."""
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def log(self) -> str:
        """Everything the worker wrote."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def problem_lines(self) -> list[str]:
        """Its warning and error lines (what an operator's ``journalctl -p warning`` shows)."""
        return [line for line in self.log().splitlines() if PROBLEM_LINE.search(line)]


def wait_for(condition: Callable[[], bool], what: str, limit: float = 180.0,
             workers: Iterable[Worker] = (), dovecot_log: Callable[[], str] | None = None,
             every: float = 0.25) -> float:
    """Poll ``condition`` until it holds; return the seconds it took, or fail showing the logs."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            if condition():
                return time.monotonic() - start
        except Exception:  # e.g. the schema not made yet, or the database down on purpose
            pass
        time.sleep(every)
    shown = [f"--- worker log {w.log_path.name} ---\n{w.log()[-20000:]}" for w in workers]
    if dovecot_log is not None:
        shown.append(f"--- dovecot log ---\n{dovecot_log()[-5000:]}")
    raise AssertionError(f"timed out after {limit:.0f} s waiting for {what}\n" + "\n".join(shown))


class Db:
    """Read-only counts the fault tests assert on."""

    def __init__(self, url: str):
        self.engine: Engine = create_engine(url, pool_pre_ping=True)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def scalar(self, query):  # type: ignore[no-untyped-def]
        """One value."""
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def rows(self, query) -> list:  # type: ignore[no-untyped-def]
        """All rows."""
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def messages(self) -> int:
        """Raw messages stored."""
        return self.scalar(select(func.count()).select_from(RawMessage)) or 0

    def message_states(self) -> dict[str, int]:
        """Raw messages by state."""
        return dict(self.rows(select(RawMessage.state, func.count()).group_by(RawMessage.state)))

    def unfinished(self) -> int:
        """Messages not yet processed or quarantined."""
        return self.scalar(select(func.count()).select_from(RawMessage)
                           .where(RawMessage.state.not_in(["processed", "quarantined"]))) or 0

    def case_senders(self) -> list[str]:
        """The sender of every case (one per application in these tests)."""
        return [r[0] for r in self.rows(select(Case.sender).order_by(Case.id))]

    def outbox_states(self) -> dict[str, int]:
        """Outbox rows by state."""
        return dict(self.rows(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)))

    def outbox_message_ids(self, state: str = "sent") -> list[str]:
        """The Message-IDs of the outbox rows in ``state``."""
        return [r[0] for r in self.rows(select(OutboxMessage.message_id)
                                        .where(OutboxMessage.state == state))]


def identity(raw: bytes) -> str:
    """What the raw store dedupes a mail by: Message-ID/From/Subject/Date/body, else its bytes."""
    return _dedupe_key(raw)[1] or hashlib.sha256(raw).hexdigest()
