"""Running the worker: one pass (``poll``) or the long-running service (``run``)."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, TYPE_CHECKING

from intake.app import App
from intake.cases.pipeline import process_pending
from intake.cases.reading import open_readers
from intake.errors import ConfigError, TemporaryFailure, WorkerBusy
from intake.settings import ImapSourceSettings, MaildirSourceSettings, Settings
from intake.sources import Source
from intake.sources.fetching import FetchStats, fetch_all
from store import locks

if TYPE_CHECKING:  # APScheduler is imported only when the service runs
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

# One processing pass at a time per worker: SQLite has one writer, and the
# sources' threads would otherwise race for the same stored messages.
_processing_lock = threading.Lock()


@dataclass
class PollReport:
    """What one ``poll`` did, for the operator."""

    fetched: dict[str, FetchStats] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    processed: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        lines = []
        for name, st in self.fetched.items():
            lines.append(f"{name}: {st.seen} new, {st.stored} stored, {st.duplicates} duplicate(s), {st.acked} acknowledged")
        for name, why in self.failures.items():
            lines.append(f"{name}: FAILED: {why}")
        done = ", ".join(f"{k} {v}" for k, v in sorted(self.processed.items())) or "nothing to do"
        lines.append(f"processed: {done}")
        return "\n".join(lines)


def claim_database(settings: Settings) -> IO[str] | None:
    """Refuse a second worker on one SQLite database (WorkerBusy, exit 75); keep the handle open.

    PostgreSQL takes several workers (see README, "Several workers"): None.
    """
    try:
        return locks.worker_lock(settings.database_url)
    except locks.WorkerRefused as exc:
        raise WorkerBusy(str(exc)) from None


def process(app: App, stop: threading.Event | None = None) -> Counter[str]:
    """Process what is stored, one pass at a time, until ``stop`` is set (SIGTERM)."""
    with _processing_lock:
        return process_pending(app.context, stop=stop)


def poll_once(app: App, report: PollReport | None = None) -> PollReport:
    """Fetch from every source once, then process; fill and return ``report``.

    Raise ConfigError if a source's settings are wrong (bad password, missing
    folder), else TemporaryFailure if a source could not be reached; the
    caller's ``report`` then still says what the other sources did.
    """
    report = report if report is not None else PollReport()
    config_errors: list[str] = []
    for source in app.make_sources():
        try:
            report.fetched[source.account] = fetch_all(source, app.context.factory, app.context.now)
        except ConfigError as exc:  # a wrong password or folder: retrying will not help
            report.failures[source.account] = str(exc)
            config_errors.append(str(exc))
        except TemporaryFailure as exc:
            report.failures[source.account] = str(exc)
        except OSError as exc:
            report.failures[source.account] = f"{type(exc).__name__}: {exc}"
        finally:
            source.close()
    stop = threading.Event()
    with _sigterm_sets(stop):  # SIGTERM stops processing after the message in hand
        report.processed = process(app, stop)
    for job in after_poll_jobs(app):
        job()
    if report.failures:
        if config_errors:  # exit 1, not 75: cron must not keep retrying a wrong password
            raise ConfigError(config_errors[0])
        first = next(iter(report.failures.values()))
        raise TemporaryFailure(f"{len(report.failures)} source(s) failed; first: {first}")
    return report


@contextmanager
def _sigterm_sets(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGTERM sets ``stop`` (where signals can be caught: the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the message in hand", signum)
        stop.set()

    before = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def after_poll_jobs(app: App) -> list[Callable[[], object]]:
    """Jobs that follow a poll (the outbox drain plugs in here)."""
    from intake.outbox import drain_outbox

    return [lambda: drain_outbox(app)]


class Service:
    """The long-running worker: a thread per source, plus scheduled jobs, until a signal."""

    def __init__(self, app: App):
        self.app = app
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.scheduler: BackgroundScheduler | None = None

    def _source_loop(self, index: int) -> None:
        cfg = self.app.settings.sources[index]
        from intake.app import make_source

        delay = 1.0
        # a Maildir source fails when the database does: back off as the jobs do, up to a minute
        max_delay = cfg.reconnect_max_seconds if isinstance(cfg, ImapSourceSettings) else JOB_BACKOFF_MAX
        interval = cfg.poll_interval_seconds
        source: Source | None = None
        failures = 0
        while not self.stop.is_set():
            try:
                if source is None:
                    source = make_source(cfg)
                fetch_all(source, self.app.context.factory, self.app.context.now)
                self._process()
                if failures:
                    log.info("source %s works again after %d failure(s)", cfg.name, failures,
                             extra={"source": cfg.name})
                delay, failures = 1.0, 0
                source.wait(self.stop, interval)
            except Exception as exc:  # a dropped connection, a restarted server, the database down
                failures += 1
                log.warning("source %s: %s; retrying in %.0f s", cfg.name, describe(exc), delay,
                            extra={"source": cfg.name})
                log.debug("source %s traceback", cfg.name, exc_info=True)
                if source is not None:
                    try:
                        source.close()
                    except Exception:
                        log.debug("close after error failed", exc_info=True)
                source = None
                self.stop.wait(delay)
                delay = min(delay * 2, max_delay)
        if source is not None:
            source.close()

    def _process(self) -> None:
        """Process what is stored; if that handled mail, send what it queued now, not on the timer."""
        done = process(self.app, self.stop)
        if any(outcome not in ("skipped", "stopped") for outcome in done):
            self.send_soon()

    def send_soon(self) -> None:
        """Run the outbox job now (its timer, ``drain_seconds``, stays as the fallback)."""
        sched = self.scheduler
        if sched is None or self.stop.is_set():
            return
        try:
            sched.modify_job("outbox", next_run_time=dt.datetime.now(dt.UTC))
        except Exception:  # the scheduler is shutting down: the next start sends it
            log.debug("could not trigger the outbox job", exc_info=True)

    def _scheduled(self) -> BackgroundScheduler:
        from apscheduler.schedulers.background import BackgroundScheduler

        # the jobs log their own failures (GuardedJob); a run skipped because the previous one
        # still runs is normal under load, not something for `journalctl -p warning`
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        sched = BackgroundScheduler(timezone="UTC")
        every = self.app.settings.schedule
        sched.add_job(_logged("process", self._process), "interval", id="process",
                      seconds=every.process_seconds, max_instances=1, coalesce=True)
        for job_id, func, seconds in scheduled_jobs(self.app):
            sched.add_job(_logged(job_id, func), "interval", id=job_id, seconds=seconds,
                          max_instances=1, coalesce=True)
        return sched

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then finish the current step and exit."""
        def _signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping", signum)
            self.stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _signal)
            signal.signal(signal.SIGINT, _signal)
        self.start()
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            self.shutdown()

    def start(self) -> None:
        """Start the source threads and the scheduler."""
        settings = self.app.settings
        log.info("pulje-intake running: %d source(s) (%s), outbox %s, pool %s",
                 len(settings.sources), ", ".join(_describe(cfg) for cfg in settings.sources) or "none",
                 settings.outbox.mode, self.app.pool.name)
        self.app.context.readers = open_readers(settings, self.app.pool)  # warm across passes
        for reader in self.app.context.readers:
            try:
                reader.warm()
            except OSError as exc:  # the first mail tries again, and says what is wrong
                log.warning("could not start a reading process yet: %s", describe(exc))
        for i, cfg in enumerate(self.app.settings.sources):
            t = threading.Thread(target=self._source_loop, args=(i,), name=f"source-{cfg.name}", daemon=True)
            t.start()
            self.threads.append(t)
        self.scheduler = self._scheduled()
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop everything and wait for the threads to finish their step."""
        self.stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
        for t in self.threads:
            t.join(timeout=60)
        for reader in self.app.context.readers:
            reader.close()
        log.info("pulje-intake stopped")


def _describe(cfg: MaildirSourceSettings | ImapSourceSettings) -> str:
    """A source as the start line shows it."""
    if isinstance(cfg, MaildirSourceSettings):
        return f"{cfg.name}: maildir {cfg.path}"
    return f"{cfg.name}: imap {cfg.username}@{cfg.host} {'/'.join(cfg.folders)} ({cfg.auth})"


def describe(exc: BaseException) -> str:
    """An error as one short line: the database driver's first line, not SQLAlchemy's SQL dump."""
    orig = getattr(exc, "orig", None)  # sqlalchemy.exc.DBAPIError wraps the driver's error
    text = str(orig if orig is not None else exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(orig if orig is not None else exc).__name__}: {first}"[:300]


# While a job keeps failing (a database or server down) it waits this long between tries,
# doubling from the first up to the cap: a 60 s outage costs a handful of log lines.
JOB_BACKOFF_FIRST = 2.0
JOB_BACKOFF_MAX = 60.0


class GuardedJob:
    """A scheduled job that catches its own failures: one warning line per failure, saying what
    failed and when it is tried again, then backoff; the traceback only at debug level."""

    def __init__(self, job_id: str, func: Callable[[], object], clock: Callable[[], float] = time.monotonic):
        self.job_id, self.func, self.clock = job_id, func, clock
        self.failures = 0
        self.not_before = 0.0

    def __call__(self) -> None:
        """Run the job unless it is backing off after a failure."""
        if self.clock() < self.not_before:
            return
        try:
            self.func()
        except Exception as exc:
            self.failures += 1
            wait = min(JOB_BACKOFF_FIRST * 2 ** (self.failures - 1), JOB_BACKOFF_MAX)
            self.not_before = self.clock() + wait
            log.warning("job %s failed: %s; next try in %.0f s", self.job_id, describe(exc), wait,
                        extra={"job": self.job_id})
            log.debug("job %s traceback", self.job_id, exc_info=True)
            return
        if self.failures:
            log.info("job %s works again after %d failure(s)", self.job_id, self.failures,
                     extra={"job": self.job_id})
        self.failures, self.not_before = 0, 0.0
        log.debug("job %s done", self.job_id, extra={"job": self.job_id})


def _logged(job_id: str, func: Callable[[], object]) -> Callable[[], None]:
    """A scheduled job whose failure is one warning line with its retry, not a traceback."""
    return GuardedJob(job_id, func)


def scheduled_jobs(app: App) -> list[tuple[str, Callable[[], object], float]]:
    """(id, function, interval seconds) of the jobs besides processing: outbox, reminders, digest."""
    from intake.outbox import digest_job, drain_outbox, remind_and_drain

    every = app.settings.schedule
    return [
        ("outbox", lambda: drain_outbox(app), every.drain_seconds),
        ("reminders", lambda: remind_and_drain(app), every.remind_seconds),
        ("digest", lambda: digest_job(app), every.digest_check_seconds),
    ]
