"""What the operator gets: the shipped settings, the systemd unit, and deploy/install.sh run for real.

The install test performs the README's operator steps (except starting systemd)
into a temporary prefix with a fresh virtual environment, a fresh service user
and a fresh PostgreSQL role and database. It takes a minute or two, so it exists
only on the PostgreSQL pass of the test command (``PULJE_TEST_DB=postgresql``).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
from conftest import DB_KIND, PG_URL, write_settings

from intake.commands.cli import main
from intake.documents.samples import demo_mail, write_maildir
from intake.settings import load_settings
from store import db

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_production_settings_keep_mail_in_the_inbox_and_name_staff():
    settings = load_settings(ROOT / "deploy" / "settings.toml")
    (source,) = settings.sources
    assert (source.host, source.auth, source.ack, source.folders) == (
        "outlook.office365.com", "xoauth2", "keyword", ("INBOX",))
    assert source.oauth2 is not None and source.oauth2.provider == "entra"
    assert str(source.oauth2.client_secret.file) == "${CREDENTIALS_DIRECTORY}/entra-client-secret"
    assert settings.outbox.staff and settings.outbox.smtp is not None
    assert settings.outbox.smtp.auth == "xoauth2"
    assert str(settings.database_password.file) == "${CREDENTIALS_DIRECTORY}/db-password"


def test_check_warns_when_no_staff_get_the_digest(workdir, db_url, capsys):
    settings = write_settings(workdir, db_url)
    assert main(["--config", str(settings), "check"]) == 0
    out = capsys.readouterr().out
    assert "[warn] digest: [outbox] staff is empty: the daily digest goes to nobody" in out
    assert "verdict: all good" in out


def test_digest_send_also_sends(workdir, db_url, capsys):
    settings = write_settings(workdir, db_url, '[outbox]\nstaff = ["sekretariat@bl.dk"]\n')
    write_maildir(workdir / "mail", demo_mail())
    assert main(["--config", str(settings), "-q", "poll"]) == 0
    capsys.readouterr()
    assert main(["--config", str(settings), "-q", "digest", "--send"]) == 0
    out = capsys.readouterr().out
    assert "digest queued for 1 address(es)" in out and "outbox: 1 sent" in out
    assert [p.name for p in (workdir / "var" / "outbox").glob("no-case-digest-*.eml")]


def unit_for(prefix: Path, executable: Path) -> str:
    """The shipped unit with the installed program's path, as install.sh writes it."""
    text = (ROOT / "deploy" / "pulje-intake.service").read_text(encoding="utf-8")
    return text.replace("/opt/pulje-intake/.venv/bin/pulje-intake", str(executable))


def systemd_verify(unit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)


def test_the_unit_passes_systemd_analyze_verify(workdir):
    program = Path(sys.executable).with_name("pulje-intake")
    assert program.exists()
    unit = workdir / "pulje-intake.service"
    unit.write_text(unit_for(workdir, program), encoding="utf-8")
    r = systemd_verify(unit)
    assert r.returncode == 0 and "pulje-intake.service" not in r.stdout + r.stderr, r.stdout + r.stderr


if DB_KIND == "postgresql":  # the one slow test: only on the PostgreSQL pass (see the docstring)

    def test_install_script_sets_up_a_working_worker(workdir):
        name = f"pulje_t{uuid.uuid4().hex[:10]}"
        user = f"pulje-t{uuid.uuid4().hex[:6]}"
        prefix, etc, state = workdir / "opt", workdir / "etc", workdir / "state"
        admin_url = PG_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
        env = {**os.environ, "PULJE_PREFIX": str(prefix), "PULJE_ETC": str(etc), "PULJE_STATE": str(state),
               "PULJE_USER": user, "PULJE_DB_NAME": name, "PULJE_DB_ROLE": name,
               "PULJE_PSQL_ADMIN": f"psql {admin_url}", "PULJE_UNIT_DIR": str(workdir / "units"),
               "PULJE_BIN_DIR": str(workdir / "bin")}
        for key in ("PULJE_INTAKE_CONFIG", "CREDENTIALS_DIRECTORY", "VIRTUAL_ENV"):
            env.pop(key, None)
        try:
            for attempt in ("install", "upgrade"):  # a second run upgrades and keeps what is there
                r = subprocess.run(["bash", str(ROOT / "deploy" / "install.sh")], capture_output=True, text=True,
                                   env=env, timeout=900)
                assert r.returncode == 0, f"{attempt}: {r.stdout}\n{r.stderr}"
                if attempt == "install":
                    password = (etc / "credentials" / "db-password").read_text().strip()
            assert (etc / "credentials" / "db-password").read_text().strip() == password
            assert stat.S_IMODE((etc / "credentials").stat().st_mode) == 0o700
            assert stat.S_IMODE((etc / "credentials" / "db-password").stat().st_mode) == 0o600
            assert stat.S_IMODE((etc / "credentials" / "web-secret").stat().st_mode) == 0o600
            assert len((etc / "credentials" / "web-secret").read_text().strip()) >= 32
            assert stat.S_IMODE((etc / "settings.toml").stat().st_mode) == 0o640
            assert f'url = "postgresql+psycopg://{name}@127.0.0.1/{name}"' in (etc / "settings.toml").read_text()
            # the role logs in with its password, owns its database, and is nothing more
            with psycopg.connect(host="127.0.0.1", dbname=name, user=name, password=password) as conn:
                owner, superuser = conn.execute(
                    "SELECT pg_get_userbyid(datdba), rolsuper FROM pg_database, pg_roles "
                    "WHERE datname = current_database() AND rolname = current_user").fetchone()
                assert (owner, superuser) == (name, False)
                assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == db.head_revision()
            # the operator's command works with the service's settings and credentials
            status = subprocess.run([str(workdir / "bin" / "pulje-intake"), "status"], capture_output=True,
                                    text=True, env=env, timeout=120)
            assert status.returncode == 1, status.stderr  # installed, not started: never fetched
            assert "imap:bl/INBOX: never fetched" in status.stdout
            unit = workdir / "units" / "pulje-intake.service"
            assert f"ExecStart={prefix}/.venv/bin/pulje-intake run" in unit.read_text()
            assert f"User={user}" in unit.read_text()
            r = systemd_verify(unit)
            assert r.returncode == 0, r.stdout + r.stderr
            web = workdir / "units" / "pulje-intake-web.service"
            assert f"ExecStart={prefix}/.venv/bin/pulje-intake web" in web.read_text()
            assert f"LoadCredential=web-secret:{etc}/credentials/web-secret" in web.read_text()
        finally:
            subprocess.run(["psql", admin_url, "-c", f'DROP DATABASE IF EXISTS "{name}"'], capture_output=True)
            subprocess.run(["psql", admin_url, "-c", f'DROP ROLE IF EXISTS "{name}"'], capture_output=True)
            subprocess.run(["userdel", user], capture_output=True)
            shutil.rmtree(workdir / "opt", ignore_errors=True)
