"""``pulje-intake users add|remove|list`` and ``pulje-intake web`` as an operator runs them,
and the schema the migrations make matching the models."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request

from sqlalchemy import select

from intake.commands.cli import main
from store import accounts
from store.staff_models import StaffUser

PATIENCE = 60  # seconds the server may take to start on a busy machine (never asserted)


def _cli(workdir, *args):
    return main(["--config", str(workdir / "settings.toml"), *args])


def test_users_add_list_remove(app, workdir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("en lang nok adgangskode\n"))
    assert _cli(workdir, "users", "add", "Mette", "--password-stdin") == 0
    assert capsys.readouterr().out == "added mette\n"
    with app.context.factory() as s:
        user = s.scalar(select(StaffUser))
        assert user.username == "mette" and user.password_hash.startswith("$argon2id$")
        assert "en lang nok adgangskode" not in user.password_hash
        assert accounts.check_login(s, "METTE", "en lang nok adgangskode", app.context.now(),
                                    accounts.LoginPolicy()).user is not None
    monkeypatch.setattr(sys, "stdin", io.StringIO("kort\n"))
    assert _cli(workdir, "users", "add", "anne", "--password-stdin") == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert _cli(workdir, "users", "list") == 0
    out = capsys.readouterr().out
    assert out.startswith("mette  created ") and out.endswith("last login -\n")
    assert "anne" not in out
    assert _cli(workdir, "users", "remove", "mette") == 0
    assert _cli(workdir, "users", "remove", "mette") == 1
    assert "no user mette" in capsys.readouterr().err
    assert _cli(workdir, "users", "list") == 0
    assert "no staff accounts" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_web_command_serves_the_login_page(app, workdir):
    port = _free_port()
    settings = workdir / "settings.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + f"\n[web]\nport = {port}\n", encoding="utf-8")
    script = os.path.join(os.path.dirname(sys.executable), "pulje-intake")
    proc = subprocess.Popen([script, "--config", str(settings), "web"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + PATIENCE
        page = None
        while page is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as r:
                    page = r.read().decode()
            except OSError:
                time.sleep(0.1)
        assert page is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert "Log ind" in page and 'name="csrf"' in page
    finally:
        proc.terminate()
        proc.wait(timeout=PATIENCE)
    assert "no staff accounts yet" in proc.stdout.read()


def test_migrations_make_the_schema_the_models_describe(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    with app.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []
