"""OAuth2 logins: XOAUTH2 and OAUTHBEARER against the real Dovecot and the SMTP sink.

Dovecot checks every token with its oauth2 password database, which asks the
test's token service on loopback (``tests/oauth_server.py``); the same service
plays Microsoft Entra ID (over TLS, as MSAL insists) and Google's token
endpoint. Tokens come to the worker from Entra ID's client-credentials flow,
a Google service account, or an operator's token command.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import threading

import pytest
from conftest import write_settings
from dovecot import free_port, imap_source_toml, make_certificate, to_crlf
from oauth_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    GOOGLE_CLIENT,
    TENANT,
    TokenAuthority,
    TokenServer,
)
from sqlalchemy import func, select

from intake import tokens
from intake.documents.samples import make_mail, minimal_pdf
from intake.errors import ConfigError, TemporaryFailure
from intake.secrets import OAuth2Settings
from intake.service import Service, poll_once
from intake.sources.imap import ImapSource
from store.models import Case, OutboxMessage, RawMessage
from store.words import OutboxState

pytest_plugins = ["imap_fixtures"]
pytestmark = pytest.mark.imap

APPLICATION = "Ansøgning – Pulje til sociale viceværter"
WHEN = dt.datetime(2025, 7, 30, 10, 0, tzinfo=dt.UTC)
SECRET_ENV = "PULJE_TEST_ENTRA_SECRET"


def application(i: int) -> bytes:
    return to_crlf(make_mail(APPLICATION, sender=f"Org {i} <kontakt@org{i}.dk>", domain=f"org{i}.dk",
                             attachments=[("Ansøgningsskema.pdf", minimal_pdf(), "application/pdf")]))


def fetch_token_command(url: str, bare: bool = False) -> list[str]:
    """A token command: a program that asks the token service for a token and prints it."""
    code = ("import json, sys, urllib.request\n"
            "data = json.load(urllib.request.urlopen(sys.argv[1]))\n"
            + ("print(data['access_token'])\n" if bare else "print(json.dumps(data))\n"))
    return [sys.executable, "-c", code, url]


def printing(text: str) -> list[str]:
    """A token command that prints ``text``."""
    return [sys.executable, "-c", f"print({text!r})"]


@pytest.fixture
def authority():
    return TokenAuthority(username="pulje")


@pytest.fixture
def token_server(authority):
    server = TokenServer(authority).start()
    yield server
    server.stop()


@pytest.fixture
def entra(authority, workdir, monkeypatch):
    """The token service over HTTPS as Entra ID; MSAL (requests) trusts its certificate."""
    cert = make_certificate(workdir / "entra")
    server = TokenServer(authority, tls=(cert, workdir / "entra" / "key.pem")).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    yield server
    server.stop()


@pytest.fixture
def oauth_dovecot(start_dovecot, token_server):
    """Dovecot that takes XOAUTH2/OAUTHBEARER and asks the token service about each token."""
    return start_dovecot("oauth", introspection_url=f"{token_server.url}/introspect")


def oauth_source(server, auth="xoauth2", source_options=None, **oauth2) -> str:
    return imap_source_toml(server, password_env=None, auth=auth, **(source_options or {}), oauth2=oauth2)


def entra_oauth2(entra_server) -> dict:
    return {"provider": "entra", "tenant_id": TENANT, "client_id": CLIENT_ID,
            "client_secret_env": SECRET_ENV, "authority": entra_server.url}


def count(app, model) -> int:
    with app.context.factory() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture(autouse=True)
def fresh_providers():
    """Every test starts without cached tokens (providers are shared per process)."""
    tokens._providers.clear()
    yield
    tokens._providers.clear()


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_token_login_fetches_mail(make_app, oauth_dovecot, token_server, authority, auth):
    oauth_dovecot.append(application(1), WHEN)
    command = fetch_token_command(f"{token_server.url}/issue?lifetime=3600")
    app = make_app(sources=oauth_source(oauth_dovecot, auth, provider="command", command=command))
    report = poll_once(app)
    assert report.fetched["imap:pulje"].stored == 1
    assert report.processed == {"case": 1}
    assert [active for _, active in authority.logins()] == [True]  # one login, with a good token


def run_cli(settings, *commands, env=None):
    full = {**os.environ, **(env or {})}
    procs = [subprocess.Popen([sys.executable, "-m", "intake.commands.cli", "--config", str(settings), c],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)
             for c in commands]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def error_line(stderr: str) -> str:
    """The one error line, last, after the log lines that led to it."""
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("pulje-intake:")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    assert "Traceback" not in stderr
    return errors[0]


@pytest.mark.parametrize("which", ["expired", "wrong"])
def test_expired_or_wrong_token_exits_1_with_one_clear_line(workdir, db_url, oauth_dovecot, token_server,
                                                            authority, which):
    oauth_dovecot.append(application(1), WHEN)
    command = (fetch_token_command(f"{token_server.url}/issue?lifetime=-60", bare=True) if which == "expired"
               else printing("not-a-token-we-issued"))
    settings = write_settings(workdir, db_url, "", oauth_source(oauth_dovecot, provider="command", command=command))
    check, poll = run_cli(settings, "check", "poll")
    assert poll.returncode == 1, poll.stderr
    assert "Traceback" not in poll.stderr + check.stdout + check.stderr
    line = error_line(poll.stderr)
    assert "source 'pulje'" in line and "refused the XOAUTH2 login of 'pulje'" in line
    assert check.returncode == 1
    assert "[ ok ] source pulje token: XOAUTH2 token for pulje from token command" in check.stdout, check.stdout
    fails = [line for line in check.stdout.splitlines() if line.startswith("[FAIL]")]
    assert len(fails) == 1 and "refused the XOAUTH2 login" in fails[0], check.stdout
    # a refused token is replaced once by a new one before the login counts as refused
    assert {active for _, active in authority.logins()} == {False}
    assert len({token for token, _ in authority.logins()}) >= 2 if which == "expired" else True


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_token_expiring_mid_session_is_renewed_and_the_worker_goes_on(make_app, oauth_dovecot, token_server,
                                                                      authority, caplog):
    caplog.set_level(logging.INFO, logger="intake")
    oauth_dovecot.append(application(1), WHEN)
    # tokens live 4 s: the session logs in again with a new one before its token expires
    command = fetch_token_command(f"{token_server.url}/issue?lifetime=4")
    app = make_app(sources=oauth_source(oauth_dovecot, provider="command", command=command, renew_before_seconds=1,
                                        source_options={"poll_interval_seconds": 300}))
    svc = Service(app)
    svc.start()
    try:
        wait_until(lambda: count(app, Case) == 1, "the first mail")
        wait_until(lambda: len({t for t, ok in authority.logins() if ok}) >= 3, "logins with renewed tokens")
        # Exchange Online ends a session whose token expired; the worker logs in again and goes on
        oauth_dovecot.kick()
        oauth_dovecot.append(application(2), WHEN)
        wait_until(lambda: count(app, Case) == 2, "the mail after the renewals")
    finally:
        svc.shutdown()
    assert all(active for _, active in authority.logins()), "the worker never offered an expired token"
    assert any("due for renewal; logging in again" in r.getMessage() for r in caplog.records)


def test_entra_client_credentials_check_and_poll(workdir, db_url, oauth_dovecot, entra, authority):
    oauth_dovecot.append(application(1), WHEN)
    settings = write_settings(workdir, db_url, "", oauth_source(oauth_dovecot, **entra_oauth2(entra)))
    check, poll = run_cli(settings, "check", "poll")
    assert check.returncode == 0, check.stdout + check.stderr
    assert (f"[ ok ] source pulje token: XOAUTH2 token for pulje from Entra ID (tenant {TENANT}, "
            f"client {CLIENT_ID}), valid for 59 min") in check.stdout
    assert f"imap 127.0.0.1:{oauth_dovecot.port} login ok, INBOX: 1 messages" in check.stdout
    assert poll.returncode == 0, poll.stderr
    assert "imap:pulje: 1 new, 1 stored" in poll.stdout
    assert {g["scope"] for g in authority.granted} == {"https://outlook.office365.com/.default"}


def test_entra_wrong_secret_exits_1_and_an_unreachable_entra_75(workdir, db_url, oauth_dovecot, entra):
    source = oauth_source(oauth_dovecot, **entra_oauth2(entra))
    settings = write_settings(workdir, db_url, "", source)
    (wrong,) = run_cli(settings, "poll", env={SECRET_ENV: "not-the-secret"})
    assert wrong.returncode == 1
    assert "AADSTS7000215: Invalid client secret provided." in error_line(wrong.stderr)
    entra.fail(503)
    (busy,) = run_cli(settings, "check")
    assert busy.returncode == 75, busy.stdout
    assert "[FAIL] source pulje token:" in busy.stdout and "unreachable" in busy.stdout
    entra.fail(0)
    gone = oauth_source(oauth_dovecot, **{**entra_oauth2(entra), "authority": f"https://127.0.0.1:{free_port()}"})
    (down,) = run_cli(write_settings(workdir, db_url, "", gone), "poll")
    assert down.returncode == 75 and "unreachable" in down.stderr, down.stderr


def test_google_service_account_token_logs_in(make_app, oauth_dovecot, token_server, authority, workdir):
    key = workdir / "google-key.json"
    key.write_text(authority.google_key_json(f"{token_server.url}/google/token"), encoding="utf-8")
    app = make_app(sources=oauth_source(oauth_dovecot, "oauthbearer", provider="google",
                                        service_account_file=str(key)))
    source = ImapSource(app.settings.sources[0])
    assert "OAUTHBEARER token for pulje from Google service account acting as pulje" in source.check_token()
    assert source.check().startswith(f"imap 127.0.0.1:{oauth_dovecot.port} login ok")
    (grant,) = authority.granted
    assert (grant["iss"], grant["sub"], grant["scope"]) == (GOOGLE_CLIENT, "pulje", "https://mail.google.com/")


def command_provider(command, lifetime=3000.0) -> tokens.TokenProvider:
    return tokens.TokenProvider(OAuth2Settings("command", scope="", command=tuple(command),
                                               lifetime_seconds=lifetime), "pulje")


def test_a_token_is_reused_until_it_is_due_then_renewed(token_server):
    provider = command_provider(fetch_token_command(f"{token_server.url}/issue?lifetime=400"))
    now = [1_000_000.0]
    provider.clock = lambda: now[0]
    first = provider.get("test")
    assert provider.get("test") is first
    now[0] += 400 - 101  # 400 s of life, renewed 100 s before the end (a quarter of its life)
    assert provider.get("test") is first
    now[0] += 2
    assert provider.get("test").value != first.value
    assert provider.get("test", fresh=True).value not in (first.value,)


def test_token_command_failures_say_what_to_do():
    with pytest.raises(ConfigError, match="token command '/no/such/program' cannot be run"):
        command_provider(["/no/such/program"]).get("source 'x'")
    with pytest.raises(TemporaryFailure, match="failed with exit status 75: no network"):
        command_provider([sys.executable, "-c", "import sys; sys.exit('no network') if False else None;"
                          "sys.stderr.write('no network\\n'); sys.exit(75)"]).get("source 'x'")
    with pytest.raises(ConfigError, match="failed with exit status 2"):
        command_provider([sys.executable, "-c", "import sys; sys.exit(2)"]).get("source 'x'")
    with pytest.raises(ConfigError, match="must print one line"):
        command_provider(printing("")).get("source 'x'")


# -- SMTP ----------------------------------------------------------------------


@pytest.fixture
def oauth_sink(authority):
    from smtp_sink import SmtpSink

    sink = SmtpSink(tokens=lambda user, token: user == "pulje@bl.dk" and authority.active(token))
    sink.start()
    yield sink
    sink.stop()


def smtp_oauth_settings(sink, auth, command) -> str:
    toml_command = json.dumps(command)  # a JSON list of strings is a TOML array
    return (f'[outbox]\nmode = "smtp"\nmax_receipt_age_hours = 1000000\n'
            f'[outbox.smtp]\nhost = "{sink.host}"\nport = {sink.port}\nsecurity = "plain"\n'
            f'timeout_seconds = 10\nusername = "pulje@bl.dk"\nauth = "{auth}"\n'
            f'[outbox.smtp.oauth2]\nprovider = "command"\ncommand = {toml_command}\n')


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_smtp_sends_with_a_token_the_server_checked(make_app, workdir, oauth_sink, token_server, auth):
    from intake.documents.samples import SampleMail, write_maildir

    command = fetch_token_command(f"{token_server.url}/issue?lifetime=3600")
    app = make_app(smtp_oauth_settings(oauth_sink, auth, command))
    write_maildir(workdir / "mail", [SampleMail("a", application(1), WHEN)])
    poll_once(app)
    assert len(oauth_sink.messages) == 1
    assert [(m, u, ok) for m, u, _, ok in oauth_sink.logins] == [(auth.upper(), "pulje@bl.dk", True)]


def test_smtp_refused_token_check_exits_1_and_mail_waits(make_app, workdir, db_url, oauth_sink):
    from intake.documents.samples import SampleMail, write_maildir

    extra = smtp_oauth_settings(oauth_sink, "xoauth2", printing("not-a-token-we-issued"))
    (check,) = run_cli(write_settings(workdir, db_url, extra), "check")
    assert check.returncode == 1, check.stdout
    assert "[FAIL] smtp: SMTP login refused: 535" in check.stdout
    app = make_app(extra)
    write_maildir(workdir / "mail", [SampleMail("a", application(1), WHEN)])
    poll_once(app)
    assert oauth_sink.messages == []
    with app.context.factory() as s:
        assert s.scalars(select(OutboxMessage.state)).all() == [OutboxState.PENDING]
    assert count(app, RawMessage) == 1
    # refused once, then once more with a freshly fetched token, per connection attempt
    assert [ok for *_, ok in oauth_sink.logins][:2] == [False, False]


def test_shared_provider_serves_imap_and_smtp_with_one_token(token_server, authority):
    cfg = OAuth2Settings("command", scope="", command=tuple(fetch_token_command(f"{token_server.url}/issue")))
    a = tokens.provider_for(cfg, "pulje@bl.dk")
    assert tokens.provider_for(cfg, "pulje@bl.dk") is a
    results = []
    threads = [threading.Thread(target=lambda: results.append(a.get("x").value)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(authority.tokens) == 1
