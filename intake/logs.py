"""Logging for the command line and the service: what the worker does, one line per mail and per job.

Our loggers (``intake``, ``notifications``, ``store``, ``parsers``) log at INFO
by default; every other library at WARNING, so its chatter stays out. Lines go
to stderr (stdout is the commands' results), in one of three forms:

* under systemd (stderr is the journal, ``JOURNAL_STREAM``): ``<6>intake.cases.pipeline:
  message 17 → case PSV-2025-0001 …`` — no time stamp (journald adds its own), and the
  syslog priority as a ``<N>`` prefix so that ``journalctl -p warning`` works;
* anywhere else: ``2025-07-25 14:00:03 INFO intake.cases.pipeline: …``, in the
  local time of the pool (Europe/Copenhagen), like every other time we show;
* ``--log-format json``: one object per line with ``time`` (ISO 8601 with offset),
  ``level``, ``logger``, ``message`` and the ids the line is about (``mail``,
  ``case_id``, ``source``, ``folder``, ``outbox``, ``job``), for log shippers.

Code that logs about a mail passes those ids as ``extra={"mail": 17, "case_id": ...}``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from typing import TextIO
from zoneinfo import ZoneInfo

OURS = ("intake", "notifications", "store", "parsers")
#: The ``extra`` keys a JSON line carries when a log call gives them.
CONTEXT_KEYS = ("mail", "case_id", "source", "folder", "outbox", "job")
FORMATS = ("text", "json")

_zone: dt.tzinfo = ZoneInfo("Europe/Copenhagen")
# syslog priorities for journald's "<N>" prefix (sd-daemon(3))
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


def set_timezone(tz: dt.tzinfo) -> None:
    """Show times in ``tz`` (the pool's zone, once the settings are read)."""
    global _zone
    _zone = tz


def under_journal(stream: TextIO) -> bool:
    """True when ``stream`` is connected to journald (systemd sets ``JOURNAL_STREAM=dev:inode``)."""
    value = os.environ.get("JOURNAL_STREAM", "")
    try:
        dev, inode = (int(x) for x in value.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, inode)


class JournalFormatter(logging.Formatter):
    """``<priority>logger: message``; journald adds the time and the unit."""

    def format(self, record: logging.LogRecord) -> str:
        """One line (a traceback, at debug level, follows on its own lines)."""
        text = f"<{_PRIORITY.get(record.levelno, 6)}>{record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class LocalTimeFormatter(logging.Formatter):
    """``2025-07-25 14:00:03 INFO logger: message`` in the pool's local time."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        """The record's time in the pool's zone."""
        return dt.datetime.fromtimestamp(record.created, _zone).strftime("%Y-%m-%d %H:%M:%S")


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """time, level, logger, message, and the ids given as ``extra``."""
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, _zone).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (tests swap it), past any progress bar."""

    def __init__(self, past_bars: bool):
        super().__init__()
        self.past_bars = past_bars

    @property
    def stream(self) -> TextIO:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # StreamHandler sets it once; we always look it up

    def emit(self, record: logging.LogRecord) -> None:
        """One line; on a terminal above the progress bar (tqdm), not through it."""
        if not self.past_bars:
            super().emit(record)
            return
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


_installed: logging.Handler | None = None


def setup(verbose: int = 0, quiet: bool = False, fmt: str = "text") -> None:
    """Configure logging for one run of the command line (stderr).

    ``verbose`` 1 shows our debug lines, 2 also the libraries' (``-v``, ``-vv``);
    ``quiet`` leaves only warnings and errors. Only the handler installed here is
    replaced; others (a test runner's) stay.
    """
    global _installed
    terminal = sys.stderr.isatty()
    handler = _StderrHandler(past_bars=terminal and fmt == "text")
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif under_journal(sys.stderr):
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(LocalTimeFormatter())
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    root.addHandler(handler)
    _installed = handler
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    ours = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    for name in OURS:
        logging.getLogger(name).setLevel(ours)
    logging.captureWarnings(True)
