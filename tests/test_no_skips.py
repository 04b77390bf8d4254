"""The test command cannot go green with skipped tests (tests/no_skips.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = str(Path(__file__).resolve().parent)  # where the plugin module lives

SKIPPING = """
import pytest

def test_runs():
    assert True

@pytest.mark.skipif(True, reason="dovecot is not installed")
def test_needs_dovecot():
    assert True
"""


def test_a_skip_fails_the_run_when_skips_are_not_allowed(pytester, monkeypatch):
    monkeypatch.setenv("PULJE_TEST_NO_SKIPS", "1")
    pytester.makepyfile(SKIPPING)
    monkeypatch.setenv("PYTHONPATH", TESTS)
    result = pytester.runpytest_subprocess("-p", "no_skips")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*skipped tests fail this run*", "*test_needs_dovecot*dovecot is not installed*"])


def test_skips_are_allowed_when_working_by_hand(pytester, monkeypatch):
    monkeypatch.delenv("PULJE_TEST_NO_SKIPS", raising=False)
    pytester.makepyfile(SKIPPING)
    monkeypatch.setenv("PYTHONPATH", TESTS)
    result = pytester.runpytest_subprocess("-p", "no_skips")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=1)


def test_a_module_skipped_at_collection_fails_the_run_too(pytester, monkeypatch):
    monkeypatch.setenv("PULJE_TEST_NO_SKIPS", "1")
    monkeypatch.setenv("PYTHONPATH", TESTS)
    pytester.makepyfile(test_ok="def test_runs():\n    assert True\n",
                        test_gone="import pytest\npytest.skip('no corpus', allow_module_level=True)\n")
    result = pytester.runpytest_subprocess("-p", "no_skips")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*test_gone.py*no corpus*"])
