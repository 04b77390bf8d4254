"""Pytest plugin: a real Dovecot per test, and settings for an IMAP source pointing at it.

Load it with ``pytest_plugins = ["imap_fixtures"]`` in a test module.
"""

from __future__ import annotations

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot, dovecot_binary, imap_source_toml


@pytest.fixture
def dovecot(workdir, monkeypatch):
    """A running Dovecot in ``workdir/dovecot``; stopped (whole process group) afterwards."""
    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = Dovecot(workdir / "dovecot").start()
    yield server
    server.stop()


@pytest.fixture
def dovecot_tls(workdir, monkeypatch):
    """A Dovecot with a self-signed certificate: STARTTLS on ``port``, TLS on ``tls_port``."""
    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = Dovecot(workdir / "dovecot-tls", tls=True).start()
    yield server
    server.stop()


@pytest.fixture
def imap_app(make_app, dovecot):
    """Build an App whose only source is the test Dovecot: ``imap_app(**source_options)``."""
    def _make(extra: str = "", **options):
        return make_app(extra, sources=imap_source_toml(dovecot, **options))

    return _make
