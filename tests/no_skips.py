"""A pytest plugin: with ``PULJE_TEST_NO_SKIPS=1`` (set by ``scripts/test``) a skipped test fails the run.

A skip usually means a missing install step (Dovecot, Chromium, poppler, the
real-world corpus): CI must not go green with whole groups of tests left out.
Run pytest by hand without the variable to allow skips while working.
"""

from __future__ import annotations

import os

import pytest

ENV = "PULJE_TEST_NO_SKIPS"

_skipped: list[str] = []


def strict() -> bool:
    """True when skipped tests fail the run."""
    return os.environ.get(ENV, "") not in ("", "0")


def _remember(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember every skipped test (a skip in setup or in the test itself)."""
    _remember(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Remember a whole module skipped while it was collected."""
    _remember(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Turn a green run with skips into a failed one."""
    if strict() and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int) -> None:  # noqa: ANN001 - pytest's own type
    """Say which tests were skipped and why that fails the run."""
    if strict() and _skipped:
        terminalreporter.section(f"skipped tests fail this run ({ENV}=1)", red=True)
        for line in _skipped:
            terminalreporter.line(line)
