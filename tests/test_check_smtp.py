"""`check` reaches the real SMTP server the outbox would use, and says so."""

from __future__ import annotations

import subprocess
import sys

from conftest import write_settings

pytest_plugins = ["smtp_sink"]


def _check(settings) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "intake.commands.cli", "--config", str(settings), "check"],
                          capture_output=True, text=True, timeout=120)


def test_check_reaches_the_smtp_server(workdir, db_url, smtp_sink):
    r = _check(write_settings(workdir, db_url, smtp_sink.settings_toml()))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"smtp: {smtp_sink.host}:{smtp_sink.port} answers" in r.stdout


def test_check_with_smtp_down_is_a_temporary_failure(workdir, db_url):
    from smtp_sink import free_port

    outbox = (f'[outbox]\nmode = "smtp"\n[outbox.smtp]\nhost = "127.0.0.1"\nport = {free_port()}\n'
              'security = "plain"\ntimeout_seconds = 5\n')
    r = _check(write_settings(workdir, db_url, outbox))
    assert r.returncode == 75, r.stdout + r.stderr
    assert "[FAIL] smtp:" in r.stdout and "unreachable" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
