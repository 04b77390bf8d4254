"""Running the worker: one pass (``poll``) or the long-running service (``run``)."""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, TYPE_CHECKING

from intake.app import App
from intake.cases.pipeline import process_pending
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


def process(app: App) -> Counter[str]:
    """Process what is stored, one pass at a time."""
    with _processing_lock:
        return process_pending(app.context)


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
    report.processed = process(app)
    for job in after_poll_jobs(app):
        job()
    if report.failures:
        if config_errors:  # exit 1, not 75: cron must not keep retrying a wrong password
            raise ConfigError(config_errors[0])
        first = next(iter(report.failures.values()))
        raise TemporaryFailure(f"{len(report.failures)} source(s) failed; first: {first}")
    return report


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
        max_delay = cfg.reconnect_max_seconds if isinstance(cfg, ImapSourceSettings) else 300.0
        interval = cfg.poll_interval_seconds
        source: Source | None = None
        while not self.stop.is_set():
            try:
                if source is None:
                    source = make_source(cfg)
                fetch_all(source, self.app.context.factory, self.app.context.now)
                process(self.app)
                delay = 1.0
                source.wait(self.stop, interval)
            except Exception as exc:  # a dropped connection, a restarted server, a full disk
                log.warning("source %s: %s; reconnecting in %.0f s", cfg.name, exc, delay,
                            extra={"source": cfg.name})
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

    def _scheduled(self) -> BackgroundScheduler:
        from apscheduler.schedulers.background import BackgroundScheduler

        sched = BackgroundScheduler(timezone="UTC")
        every = self.app.settings.schedule
        sched.add_job(_logged("process", lambda: process(self.app)), "interval", id="process",
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
        log.info("pulje-intake stopped")


def _describe(cfg: MaildirSourceSettings | ImapSourceSettings) -> str:
    """A source as the start line shows it."""
    if isinstance(cfg, MaildirSourceSettings):
        return f"{cfg.name}: maildir {cfg.path}"
    return f"{cfg.name}: imap {cfg.username}@{cfg.host} {'/'.join(cfg.folders)} ({cfg.auth})"


def _logged(job_id: str, func: Callable[[], object]) -> Callable[[], None]:
    """A scheduled job whose failure is one warning line, not a traceback from the scheduler."""
    def run() -> None:
        try:
            func()
        except Exception as exc:
            log.warning("job %s failed: %s: %s", job_id, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                        extra={"job": job_id})
            log.debug("job %s traceback", job_id, exc_info=True)
        else:
            log.debug("job %s done", job_id, extra={"job": job_id})

    return run


def scheduled_jobs(app: App) -> list[tuple[str, Callable[[], object], float]]:
    """(id, function, interval seconds) of the jobs besides processing: outbox, reminders, digest."""
    from intake.outbox import digest_job, drain_outbox, remind_and_drain

    every = app.settings.schedule
    return [
        ("outbox", lambda: drain_outbox(app), every.drain_seconds),
        ("reminders", lambda: remind_and_drain(app), every.remind_seconds),
        ("digest", lambda: digest_job(app), every.digest_check_seconds),
    ]
