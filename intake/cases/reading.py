"""Reading a mail in a child process with hard limits: the pure, dangerous steps, kept apart.

Parsing the raw bytes (``parse_mail``) and reading the attachments (``extract``:
the PDF form, the budget, report parts ...) run in a warm child process, so a
mail that needs too much memory, CPU or time costs a child, never the worker:

* memory: ``RLIMIT_AS`` of ``[processing] child_memory_mb`` in the child (an
  allocation past it fails with ``MemoryError``, or the kernel ends the child);
* CPU: ``RLIMIT_CPU`` of ``child_cpu_seconds`` per message (``SIGXCPU`` ends it);
* time: the parent kills the child after ``child_wall_seconds`` per message.

A breach raises :class:`ReadFailed`; the child is started again for the next
message. An exception inside the child (a bug in a reader) comes back as
:class:`ReadCrashed`. Only plain picklable data crosses the boundary (bytes,
:class:`~parsers.mime.ParsedMail`, :class:`~intake.extraction.Extraction`).
The child is forked from a fork server (``forkserver``: safe while the service
has threads) that has the readers imported already, and it ignores SIGTERM:
the parent decides when a read is abandoned (:class:`ReadStopped`).
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from intake import routing
from intake.extraction import Extraction, extract
from intake.pool import Pool
from intake.settings import Settings
from parsers.limits import SizeLimits
from parsers.mime import ParsedMail, parse_mail
from store.words import MailKind, Outcome

#: How long a read in progress may go on after a stop was asked for (SIGTERM), before the child
#: is killed and the message left for the next start (systemd's stop timeout is 90 s by default).
STOP_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.2
#: The kinds of mail whose attachments a read ahead reads (what recording reads first for them).
READ_AHEAD = (MailKind.APPLICATION, MailKind.REPORT, MailKind.DOCUMENTATION)


class ReadFailed(Exception):
    """A read breached a limit or the child died; ``limit`` is ``memory``, ``cpu``, ``time`` or ``died``."""

    def __init__(self, limit: str, detail: str):
        super().__init__(detail)
        self.limit = limit


class ReadCrashed(Exception):
    """The reader raised an exception in the child (a bug): its type and message as text."""


class ReadStopped(Exception):
    """A stop was asked for and the read did not finish within the grace time."""


@dataclass(frozen=True)
class _ChildContext:
    """What extraction needs in the child (``ExtractionContext``); the clock is never used there."""

    settings: Settings
    pool: Pool

    @property
    def now(self) -> Callable[[], dt.datetime]:
        """A clock for the protocol: the arrival time is always passed in."""
        return lambda: dt.datetime.now(dt.UTC)


def _run(ctx: _ChildContext, op: str, args: tuple[Any, ...]) -> Iterator[Any]:
    """One job's answers: ``parse`` (raw, sizes): the mail; ``extract`` (mail, kind, received_at,
    earlier_parts): the extraction; ``read`` (raw, sizes, received_at, kind): the mail and the kind
    to read it as (routing by subject guesses when ``kind`` is None; "" none), then, for a kind,
    the extraction recording asks for first."""
    if op == "parse":
        raw, sizes = args
        yield parse_mail(raw, sizes)
    elif op == "extract":
        mail, kind, received_at, earlier = args
        yield extract(mail, kind, ctx, received_at, earlier)
    elif op == "read":
        raw, sizes, received_at, kind = args
        mail = parse_mail(raw, sizes)
        if kind is None:  # a guess: recording checks it, and reads again what it needs otherwise
            route = routing.route(mail, ctx.pool, own_addresses=frozenset(), known={})
            kind = route.kind if route.outcome == Outcome.CASE else None
        kind = kind if kind in READ_AHEAD else None
        yield mail, kind
        if kind is not None:
            yield extract(mail, kind, ctx, received_at, frozenset())
    else:
        raise ValueError(f"unknown job {op!r}")


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _arm_cpu(seconds: int) -> None:
    """SIGXCPU after ``seconds`` more CPU time (the soft limit; the hard one stays open to move it)."""
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(_cpu_used()) + seconds, resource.RLIM_INFINITY))


#: The child's exit code when memory ran out where no answer could be sent any more.
EXIT_MEMORY = 86


def _serve_within_memory(conn: multiprocessing.connection.Connection, settings: Settings, pool: Pool) -> None:
    """The child's entry: :func:`_serve`, and memory that runs out anywhere is said by the exit code."""
    try:
        _serve(conn, settings, pool)
    except MemoryError:  # e.g. while sending the answer about memory: nothing left to say it with
        os._exit(EXIT_MEMORY)


def _serve(conn: multiprocessing.connection.Connection, settings: Settings, pool: Pool) -> None:
    """The child: set the limits, then answer jobs until the parent closes the pipe."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # systemd signals the whole group; the parent decides
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limits = settings.processing
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:  # when the service's memory (systemd MemoryMax) runs out, the kernel ends a reader first
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    memory = limits.child_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    ctx = _ChildContext(settings, pool)
    _arm_cpu(limits.child_cpu_seconds)  # a child started again mid-message is limited too
    while True:
        try:
            job = conn.recv()
            if job is not None and job[3]:  # the mail's bytes come apart from the pickle (Reader.submit)
                job = (job[0], (conn.recv_bytes(), *job[1]), job[2], False)
        except (EOFError, OSError):
            return
        except MemoryError:  # the mail alone is more than the limit; the pipe is unusable after this
            try:
                conn.send(("memory", f"more than {limits.child_memory_mb} MB of memory", 0.0))
            finally:  # the exit code says it too, should the parent never read the answer
                os._exit(EXIT_MEMORY)
        if job is None:
            return
        op, args, new_message, _ = job
        if new_message:  # the CPU limit counts per message, in a child that lives on
            _arm_cpu(limits.child_cpu_seconds)
        started = time.monotonic()
        answers = _run(ctx, op, args)
        while True:
            try:
                answer: tuple[str, Any] = ("ok", next(answers))
            except StopIteration:
                break
            except MemoryError:
                answer = ("memory", f"more than {limits.child_memory_mb} MB of memory")
            except Exception as exc:
                answer = ("crash", "".join(traceback.format_exception_only(type(exc), exc)).strip())
            try:
                conn.send((*answer, time.monotonic() - started))
            except MemoryError:  # the answer was too big to pickle (nothing was written yet)
                answer = ("memory", f"more than {limits.child_memory_mb} MB of memory")
                conn.send((*answer, 0.0))
            if answer[0] != "ok":
                break


_start_lock = threading.Lock()

#: Imported once by the fork server, so every child starts with them: the parsers import these
#: libraries lazily (the worker itself never needs them), and a child that imported them itself
#: would make the first mail after each start or breach wait most of a second longer.
_PRELOAD = ("intake.cases.reading", "pypdf", "pdfplumber", "openpyxl", "xlrd", "odf.opendocument", "olefile")


def _context() -> Any:
    """The forkserver context, its server importing the readers once (before its first child)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(_PRELOAD))
    return ctx


class Reader:
    """A warm child that reads mail under the limits of ``[processing]``; restarted after a breach.

    One message at a time: :meth:`begin` starts its budgets. A read is :meth:`submit` then
    :meth:`collect` (``parse`` and ``extract`` do both), so a pool of readers can read ahead."""

    def __init__(self, settings: Settings, pool: Pool):
        self.settings = settings
        self.pool = pool
        self._proc: Any = None
        self._conn: multiprocessing.connection.Connection | None = None
        self._remaining = 0.0  # wall-clock seconds the message has left
        self._job_start = 0.0
        self._job_budget = 0.0
        self._new_message = False
        self._stop: threading.Event | None = None

    def warm(self) -> None:
        """Start the child if none runs: at the service's start (the first mail does not wait for it and its
        fork server) and before each job (after a breach)."""
        if self._proc is None or not self._proc.is_alive():
            self._discard()
            self._start()

    def begin(self, stop: threading.Event | None = None) -> None:
        """A new message: its wall-clock and CPU budgets start now; ``stop`` abandons a read."""
        self._remaining = self.settings.processing.child_wall_seconds
        self._new_message = True
        self._stop = stop

    def parse(self, raw: bytes | bytearray, sizes: SizeLimits) -> ParsedMail:
        """``parse_mail`` in the child."""
        self.submit("parse", (raw, sizes))
        result: ParsedMail = self.collect()
        return result

    def extract(self, mail: ParsedMail, kind: str, received_at: dt.datetime,
                earlier_parts: Collection[str]) -> Extraction:
        """``extract`` in the child."""
        self.submit("extract", (mail, kind, received_at, frozenset(earlier_parts)))
        result: Extraction = self.collect()
        return result

    def submit(self, op: str, args: tuple[Any, ...]) -> None:
        """Start a job in the child (see ``_run``); its answers come with :meth:`collect`."""
        self.warm()
        assert self._conn is not None
        self._job_start, self._job_budget = time.monotonic(), self._remaining
        # a mail's bytes (the first argument of parse and read) are written as they are, not
        # pickled: pickling makes a copy as large as the mail in this process
        raw_follows = op in ("parse", "read")
        try:
            self._conn.send((op, args[1:] if raw_follows else args, self._new_message, raw_follows))
            if raw_follows:
                self._conn.send_bytes(args[0])
        except OSError:  # the child stopped reading (e.g. out of memory): its answer, or its end, says why
            pass
        self._new_message = False

    def collect(self) -> Any:
        """The job's next answer; ReadFailed, ReadCrashed or ReadStopped when there is none."""
        try:
            kind, value, elapsed = self._wait()
        except (EOFError, OSError):
            raise self._died() from None
        self._remaining = self._job_budget - elapsed
        if kind == "ok":
            return value
        self._discard()  # after a breach or a crash the child starts afresh
        if kind == "crash":
            raise ReadCrashed(value)
        raise ReadFailed(kind, value)

    def _start(self) -> None:
        with _start_lock:
            ctx = _context()
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve_within_memory, args=(child, self.settings, self.pool),
                               name="pulje-intake-reader", daemon=True)
            proc.start()
            child.close()  # so that the child's death reads as EOF here
            self._proc, self._conn = proc, parent

    def _wait(self) -> tuple[str, Any, float]:
        conn = self._conn
        if conn is None or conn.closed:
            raise EOFError
        deadline = self._job_start + self._job_budget
        stop_at: float | None = None
        while True:
            if conn.poll(0):  # an answer already here counts, however late it is collected
                answer: tuple[str, Any, float] = conn.recv()
                return answer
            now = time.monotonic()
            if self._stop is not None and self._stop.is_set() and stop_at is None:
                stop_at = now + STOP_GRACE_SECONDS
            if stop_at is not None and now >= stop_at:
                self._discard()
                raise ReadStopped("stopped while reading")
            if now >= deadline:
                self._discard()
                raise ReadFailed("time", f"more than {self.settings.processing.child_wall_seconds:g} s")
            conn.poll(min(_POLL_SECONDS, deadline - now))

    def _died(self) -> Exception:
        proc = self._proc
        if proc is not None:
            proc.join(1.0)
        code = proc.exitcode if proc is not None else None
        self._discard()
        if self._stop is not None and self._stop.is_set():
            return ReadStopped("the reader ended during a stop")
        limits = self.settings.processing
        if code == -signal.SIGXCPU:
            return ReadFailed("cpu", f"more than {limits.child_cpu_seconds:g} s of CPU time")
        if code == EXIT_MEMORY:
            return ReadFailed("memory", f"more than {limits.child_memory_mb} MB of memory")
        if code == -signal.SIGKILL:  # the kernel's out-of-memory killer, or a person
            return ReadFailed("memory", f"killed (signal 9; more than {limits.child_memory_mb} MB?)")
        return ReadFailed("died", f"the reading process ended (exit code {code})")

    def _discard(self) -> None:
        """Kill the child (if any); the next read starts a new one."""
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5.0)
            if self._proc.exitcode is not None:
                self._proc.close()
        self._proc, self._conn = None, None

    def abandon(self) -> None:
        """Forget a job in progress (its message was given back): the child is killed."""
        self._discard()

    def close(self) -> None:
        """Stop the child: ask it to end, kill it if it does not."""
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(2.0)
            except OSError:
                pass
        self._discard()


class InlineReader(Reader):
    """Reads in this process, without limits: for tests that replace a reader function."""

    _answers: Iterator[Any] = iter(())

    def submit(self, op: str, args: tuple[Any, ...]) -> None:
        """Run the job here, lazily: its answers come with :meth:`collect`."""
        if op in ("parse", "read"):  # as a child receives them: bytes, not the bytearray loaded
            args = (bytes(args[0]), *args[1:])
        self._answers = _run(_ChildContext(self.settings, self.pool), op, args)

    def collect(self) -> Any:
        """The job's next answer (an exception propagates as it is)."""
        return next(self._answers)

    def warm(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to stop."""


def open_reader(settings: Settings, pool: Pool) -> Reader:
    """The reader processing uses (a child process; tests may put an :class:`InlineReader` here)."""
    return Reader(settings, pool)


def open_readers(settings: Settings, pool: Pool) -> list[Reader]:
    """``[processing] readers`` readers (their children start when first needed)."""
    return [open_reader(settings, pool) for _ in range(settings.processing.readers)]
