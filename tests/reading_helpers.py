"""Helpers for tests about processing: a reader that crashes (a bug in a reader, not a limit)."""

from __future__ import annotations

from intake.cases import reading


def crash_reading(monkeypatch, crash) -> None:
    """Read in the test's own process (so the replacement applies) with ``crash`` as extraction.

    The real reader runs in a child process, where a test's monkeypatch does not reach; an
    exception there comes back the same way (a failed attempt with the exception's text).
    """
    monkeypatch.setattr(reading, "open_reader", reading.InlineReader)
    monkeypatch.setattr(reading, "extract", crash)
