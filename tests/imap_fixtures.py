"""Pytest plugin: a real Dovecot per test, and settings for an IMAP source pointing at it.

Load it with ``pytest_plugins = ["imap_fixtures"]`` in a test module.
"""

from __future__ import annotations

import shutil

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot, dovecot_binary, imap_source_toml


@pytest.fixture
def start_dovecot(workdir, monkeypatch):
    """Start Dovecots in ``workdir``: ``start_dovecot(name, tls=False, extra_config="")``.

    Every server started is stopped (its whole process group) after the test.
    """
    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    servers: list[Dovecot] = []

    def _start(name: str = "dovecot", **options) -> Dovecot:
        server = Dovecot(workdir / name, **options)
        servers.append(server)
        return server.start()

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture
def dovecot(start_dovecot):
    """A running Dovecot in ``workdir/dovecot``."""
    return start_dovecot()


@pytest.fixture
def dovecot_tls(start_dovecot):
    """A Dovecot with a self-signed certificate: STARTTLS on ``port``, TLS on ``tls_port``."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no test certificate")
    return start_dovecot("dovecot-tls", tls=True)


@pytest.fixture
def imap_app(make_app, dovecot):
    """Build an App whose only source is the test Dovecot: ``imap_app(**source_options)``."""
    def _make(extra: str = "", **options):
        return make_app(extra, sources=imap_source_toml(dovecot, **options))

    return _make
