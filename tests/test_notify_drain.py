"""The drainer against a real SMTP server: retries, outages, refusals and a crash mid-way."""

from __future__ import annotations

import datetime as dt

import pytest
from notify_helpers import application, deliver, ingest, outbox_rows

from intake.outbox import drain_outbox, drain_settings, make_sender
from intake.service import poll_once
from notifications.drain import DrainSettings, backoff, drain
from notifications.smtp import SmtpSender

pytest_plugins = ["smtp_sink"]


def _one_application(workdir, clock, who: str = "Mette Hansen <mette@boligselskabet-nord.dk>", name="nord"):
    deliver(workdir, application(name, who, clock.now - dt.timedelta(minutes=5)))


def _drain_until_quiet(app, clock, passes: int = 12):
    """Drain, move the clock past any backoff, repeat (bounded)."""
    for _ in range(passes):
        drain_outbox(app)
        if all(r.state != "pending" for r in outbox_rows(app)):
            return
        clock.advance(hours=2)


class Crash(BaseException):
    """Stands for the process dying: nothing catches it."""


class CrashAfterAccept(SmtpSender):
    """Hands the mail to the server, then dies before the drainer can mark it sent."""

    def send(self, row, case_id=None):
        super().send(row, case_id)
        raise Crash()


def test_crash_after_smtp_accepted_resends_the_same_message_id_after_restart(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml())
    _one_application(workdir, clock)
    ingest(app)
    (row,) = outbox_rows(app)

    crashing = CrashAfterAccept(make_sender(app.settings).config)
    with pytest.raises(Crash):
        drain(app.context.factory, crashing, app.context.now, drain_settings(app.settings))
    assert len(smtp_sink.messages) == 1
    (after_crash,) = outbox_rows(app)
    assert after_crash.state == "pending" and after_crash.sent_at is None

    restarted = make_app(smtp_sink.settings_toml())  # a new worker on the same database
    drain_outbox(restarted)
    assert len(smtp_sink.messages) == 1  # the claim's lease still holds
    clock.advance(seconds=61)  # past [outbox] send_lease_seconds (60 by default)
    drain_outbox(restarted)

    # at least once: the mail arrived twice, both copies with the Message-ID fixed in the row
    assert len(smtp_sink.messages) == 2
    assert smtp_sink.by_message_id() == {row.message_id: 2}
    assert smtp_sink.messages[0].raw == smtp_sink.messages[1].raw
    (final,) = outbox_rows(restarted)
    assert final.state == "sent" and final.attempts == 1
    drain_outbox(restarted)
    assert len(smtp_sink.messages) == 2


@pytest.mark.only_on("postgresql")
def test_a_connection_dropped_while_recording_a_sent_mail_does_not_send_it_twice(
        make_app, workdir, clock, smtp_sink, db_url):
    """The server accepted the receipt; PostgreSQL then ends the drainer's backend (a restart,
    ``pg_terminate_backend``) right before the row is marked sent. It is sent once, and marked."""
    import time

    from sqlalchemy import create_engine, event, text

    app = make_app(smtp_sink.settings_toml())
    _one_application(workdir, clock)
    ingest(app)
    (row,) = outbox_rows(app)
    engine = app.context.factory.kw["bind"]
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    ended: list[int] = []

    def end_backend_once(conn, cursor, statement, params, context, executemany):
        if ended or not statement.startswith("UPDATE outbox") or "sent" not in str(params):
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        ended.append(pid)
        with admin.connect() as a:
            a.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):  # the backend is gone before our UPDATE reaches it
                if a.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                             {"pid": pid}).scalar() == 0:
                    break
                time.sleep(0.05)

    event.listen(engine, "before_cursor_execute", end_backend_once)
    try:
        report = drain_outbox(app)
    finally:
        event.remove(engine, "before_cursor_execute", end_backend_once)
        admin.dispose()
    assert len(ended) == 1
    assert report.sent == 1 and len(smtp_sink.messages) == 1
    (after,) = outbox_rows(app)
    assert after.state == "sent" and after.attempts == 1
    clock.advance(seconds=61)  # past the lease: a row left pending would go again now
    drain_outbox(app)
    assert smtp_sink.by_message_id() == {row.message_id: 1}


def test_451_three_times_then_250_delivers_exactly_once(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml())
    smtp_sink.fail(3)
    _one_application(workdir, clock)
    poll_once(app)  # first try: 451
    (row,) = outbox_rows(app)
    assert row.state == "pending" and row.attempts == 1 and row.last_error.startswith("451")
    assert row.next_attempt_at == clock.now + dt.timedelta(seconds=60)
    drain_outbox(app)  # not due yet: the server is not asked again
    assert smtp_sink.refused == 1

    _drain_until_quiet(app, clock)
    assert smtp_sink.refused == 3
    assert len(smtp_sink.messages) == 1
    (row,) = outbox_rows(app)
    assert row.state == "sent" and row.attempts == 4 and row.last_error is None


def test_smtp_down_for_the_whole_run_loses_nothing_and_sends_when_it_returns(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml(max_attempts=3))
    smtp_sink.stop()
    _one_application(workdir, clock, "Mette Hansen <mette@boligselskabet-nord.dk>", "a")
    _one_application(workdir, clock, "Jens Ølgaard <jens@bf-syd.dk>", "b")
    poll_once(app)
    for _ in range(6):  # more passes than max_attempts: an outage never fails a mail
        clock.advance(hours=2)
        report = drain_outbox(app)
        assert report.unreachable and report.sent == 0
    rows = outbox_rows(app)
    assert [r.state for r in rows] == ["pending", "pending"]
    assert "unreachable" in rows[0].last_error

    smtp_sink.start()  # same port
    _drain_until_quiet(app, clock)
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == ["jens@bf-syd.dk", "mette@boligselskabet-nord.dk"]
    assert {r.state for r in outbox_rows(app)} == {"sent"}


def test_5xx_fails_the_mail_with_the_answer_and_the_next_one_still_goes(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml())
    smtp_sink.fail(1, "550 5.1.1 No such user here")
    _one_application(workdir, clock, "Mette Hansen <mette@boligselskabet-nord.dk>", "a")
    _one_application(workdir, clock, "Jens Ølgaard <jens@bf-syd.dk>", "b")
    poll_once(app)
    first, second = outbox_rows(app)
    assert first.state == "failed" and first.last_error.startswith("550 5.1.1 No such user")
    assert second.state == "sent"
    clock.advance(days=1)
    drain_outbox(app)
    assert len(smtp_sink.messages) == 1


def test_4xx_until_max_attempts_holds_the_mail_for_a_person(make_app, workdir, clock, smtp_sink):
    from intake.commands.status import gather

    app = make_app(smtp_sink.settings_toml(max_attempts=3))
    smtp_sink.fail(100)
    _one_application(workdir, clock)
    poll_once(app)
    _drain_until_quiet(app, clock)
    (row,) = outbox_rows(app)
    assert row.state == "held" and row.attempts == 3 and smtp_sink.refused == 3
    assert row.last_error.startswith("held after 3 attempt(s)") and "451 4.3.0 Try again later" in row.last_error
    assert smtp_sink.messages == []
    status = gather(app)
    assert "1 held for a person" in str(status) and not status.healthy
    from store import work  # what the digest and the staff page's I dag list

    with app.context.factory() as s:
        (item,) = [i for i in work.open_items(s).items if i.outbox_pk == row.id]
    assert item.kind == work.WorkKind.UNSENT and item.why.startswith("held: held after 3 attempt(s)")


def test_an_smtp_outage_is_never_an_attempt_and_retries_within_a_minute(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml(max_attempts=2))
    smtp_sink.stop()
    _one_application(workdir, clock)
    poll_once(app)
    for _ in range(5):  # an hour of outage, then the server says "later" once: still not held
        clock.advance(minutes=12)
        drain_outbox(app)
    (row,) = outbox_rows(app)
    assert row.state == "pending" and row.attempts == 0 and "unreachable" in row.last_error
    assert row.next_attempt_at == clock.now + dt.timedelta(seconds=30)
    smtp_sink.start()
    smtp_sink.fail(1)
    clock.advance(seconds=30)
    drain_outbox(app)
    (row,) = outbox_rows(app)
    assert row.state == "pending" and row.attempts == 1 and row.last_error.startswith("451")
    clock.advance(seconds=60)
    drain_outbox(app)
    assert len(smtp_sink.messages) == 1 and outbox_rows(app)[0].state == "sent"


def test_backoff_doubles_and_is_capped():
    s = DrainSettings(backoff_seconds=60, backoff_max_seconds=600)
    assert [backoff(n, s).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [60, 120, 240, 480, 600, 600]


def test_smtp_login_is_used_when_configured(make_app, workdir, clock, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
    from smtp_sink import SmtpSink, _Handler

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"hemmelig"
        seen.append((auth_data.login, ok))
        return AuthResult(success=ok)

    sink = SmtpSink()
    sink.controller = Controller(_Handler(sink), hostname=sink.host, port=sink.port,
                                 authenticator=authenticator, auth_require_tls=False)
    sink.controller.start()
    try:
        monkeypatch.setenv("PULJE_TEST_SMTP_PASSWORD", "hemmelig")
        app = make_app(sink.settings_toml() + 'username = "pulje"\npassword_env = "PULJE_TEST_SMTP_PASSWORD"\n')
        _one_application(workdir, clock)
        poll_once(app)
        assert seen == [(b"pulje", True)] and len(sink.messages) == 1
    finally:
        sink.stop()


def test_two_drainers_at_once_send_every_mail_once(make_app, workdir, clock, smtp_sink):
    """Two workers (threads with their own connections) draining the same outbox."""
    import threading

    app = make_app(smtp_sink.settings_toml(max_per_recipient_per_hour=100))
    deliver(workdir, *[application(f"m{i}", f"Person {i} <p{i}@boligselskabet-nord.dk>",
                                   clock.now - dt.timedelta(seconds=60 - i)) for i in range(20)])
    ingest(app)
    assert len(outbox_rows(app)) == 20
    other = make_app(smtp_sink.settings_toml(max_per_recipient_per_hour=100))
    barrier = threading.Barrier(2)
    errors = []

    def work(a):
        try:
            barrier.wait()
            drain(a.context.factory, make_sender(a.settings), a.context.now, drain_settings(a.settings))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in (app, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(smtp_sink.messages) == 20 and set(smtp_sink.by_message_id().values()) == {1}
    assert {r.state for r in outbox_rows(app)} == {"sent"}


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_implicit_tls_are_verified_and_used(make_app, workdir, clock, monkeypatch, security):
    """A real TLS handshake against a throwaway certificate the client is told to trust."""
    import shutil
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller
    from smtp_sink import SmtpSink, _Handler

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    sink = SmtpSink()
    if security == "starttls":
        sink.controller = Controller(_Handler(sink), hostname=sink.host, port=sink.port,
                                     tls_context=server_ctx, require_starttls=True)
    else:
        sink.controller = Controller(_Handler(sink), hostname=sink.host, port=sink.port,
                                     ssl_context=server_ctx)
    sink.controller.start()
    try:
        toml = sink.settings_toml().replace('security = "plain"', f'security = "{security}"')
        app = make_app(toml)
        _one_application(workdir, clock)
        poll_once(app)  # the certificate is not trusted yet: nothing goes out
        assert sink.messages == [] and "CERTIFICATE_VERIFY_FAILED" in outbox_rows(app)[0].last_error
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        clock.advance(hours=1)
        drain_outbox(app)
        assert len(sink.messages) == 1
        assert outbox_rows(app)[0].state == "sent"
    finally:
        sink.stop()
