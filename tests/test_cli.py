"""The command line as an operator meets it: clear one-line errors, exit codes, readable output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import write_settings

from intake.documents.samples import demo_mail, write_maildir


def run(*args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if k != "PULJE_INTAKE_CONFIG"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "intake.commands.cli", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=120)


def test_no_settings_is_a_clear_user_error():
    r = run("poll")
    assert r.returncode == 1
    assert "pass --config FILE or set PULJE_INTAKE_CONFIG" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[database]\nurl = 5\n', "database.url: expected str"),
        ('[[sources]]\ntype = "pop3"\n', "sources[0].type: must be one of maildir, imap"),
        ('[[sources]]\ntype = "imap"\nhost = "x"\nusername = "u"\npassword_env = "P"\nport = "abc"\n',
         "sources[0].port: expected int"),
        ('[[sources]]\ntype = "imap"\nhost = "x"\nusername = "u"\n', "sources[0].password_env: set password_env"),
        ('[outbox]\nmode = "pigeon"\n', "outbox.mode: must be one of files, smtp"),
        ('[processing]\nmax_atempts = 3\n', "processing.max_atempts: unknown setting"),
        ('pool = "no-such-pool"\n', "no pool file named 'no-such-pool'"),
        ('this is not toml', "not valid TOML"),
    ],
)
def test_bad_settings_name_the_file_and_the_key(workdir, text, expected):
    path = workdir / "bad.toml"
    path.write_text(text, encoding="utf-8")
    r = run("--config", str(path), "poll")
    assert r.returncode == 1, r.stderr
    assert expected in r.stderr
    assert "Traceback" not in r.stderr
    if "pool" not in expected:
        assert str(path) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_poll_then_cases_list_and_show(workdir, db_url):
    settings = write_settings(workdir, db_url)
    write_maildir(workdir / "mail", demo_mail())
    env = {"PULJE_INTAKE_CONFIG": str(settings)}
    r = run("poll", env=env)
    assert r.returncode == 0, r.stderr
    assert "processed: case 3, ignored 2, triage 1" in r.stdout
    r = run("cases", "list", "--triage", env=env)
    assert r.returncode == 0
    assert "PSV-2025-0001" in r.stdout and "PSV-2025-0003" in r.stdout
    assert "Spørgsmål om ansøgning" in r.stdout and "auto-reply" in r.stdout
    r = run("cases", "show", "PSV-2025-0001", env=env)
    assert r.returncode == 0
    assert "Ansøgningsskema.pdf" in r.stdout and "mette@boligselskabet-nord.dk" in r.stdout
    r = run("cases", "show", "PSV-2025-0999", env=env)
    assert r.returncode == 1 and "no case PSV-2025-0999" in r.stderr


def test_check_on_the_embedded_default_is_all_good(workdir, db_url):
    settings = write_settings(workdir, db_url)
    r = run("--config", str(settings), "check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: all good" in r.stdout


def test_unreachable_database_is_a_temporary_failure(workdir):
    settings = write_settings(workdir, "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    r = run("--config", str(settings), "poll")
    assert r.returncode == 75, r.stderr
    assert "database unreachable" in r.stderr and "Traceback" not in r.stderr


def test_demo_runs_without_any_server(workdir):
    r = run("demo", "--dir", str(workdir / "demo"))
    assert r.returncode == 0, r.stderr
    assert "PSV-2025-0002" in r.stdout
    assert (workdir / "demo" / "settings.toml").is_file()
    # a whole grant: letters, a quarter documented and approved, the payout list
    assert "2 brev(e) lagt i udbakken" in r.stdout
    assert "PSV-2025-0001 2026Q1 godkendt: 142.691,50 kr." in r.stdout
    assert "2026Q1: udbetalingsliste nr. 1" in r.stdout and "i alt 142.691,50 kr." in r.stdout
    assert (workdir / "demo" / "udbetaling-2026Q1.xlsx").is_file()
    assert sorted(p.name for p in (workdir / "demo" / "afgørelser").iterdir()) == [
        "PSV-2025-0001-bevilling.pdf", "PSV-2025-0003-afslag.pdf"]


def test_demo_ends_with_how_to_open_the_web_page_on_its_data(workdir):
    import re

    from starlette.testclient import TestClient
    from webhelpers import login

    from intake.app import build_app
    from intake.settings import load_settings
    from intake.web.app import create_app

    r = run("demo", "--dir", str(workdir / "demo"))
    assert r.returncode == 0, r.stderr
    tail = r.stdout.split("== 7. the staff web page on this data", 1)[1]
    assert f"--config {workdir / 'demo' / 'settings.toml'} web" in tail
    user, password = re.search(r"log in as '([^']+)' with '([^']+)'", tail).groups()
    assert "http://127.0.0.1:8080/" in tail
    app = build_app(load_settings(workdir / "demo" / "settings.toml"))
    client = TestClient(create_app(app))
    assert login(client, user, password).status_code == 303
    today = client.get("/").text
    assert "Spørgsmål om ansøgning" in today  # the demo's question waits for a person
    app.engine.dispose()
