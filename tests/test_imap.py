"""The IMAP source against a real Dovecot: fetch, acknowledge, IDLE, crashes, the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import write_settings
from dovecot import PASSWORD_ENV, free_port, imap_source_toml, to_crlf
from imapclient import IMAPClient
from sqlalchemy import func, select

from intake.documents.samples import demo_mail, make_mail, minimal_pdf
from intake.errors import ConfigError, TemporaryFailure
from intake.service import Service, poll_once
from intake.settings import parse_settings
from intake.sources.imap import ImapSource
from store import repository as repo
from store.models import Case, MessageLocation, RawMessage
from store.words import MessageState

pytest_plugins = ["imap_fixtures"]
pytestmark = pytest.mark.imap

KEYWORD = "$PuljeIntake"
APPLICATION = "Ansøgning – Pulje til sociale viceværter"


def inbox(dovecot, mails, folder="INBOX"):
    """APPEND (raw, internaldate) pairs; return their UIDs."""
    return [dovecot.append(raw, when, folder) for raw, when in mails]


def demo_inbox():
    """The demo mails with CRLF line ends, as they arrive over SMTP, and their INTERNALDATEs."""
    return [(to_crlf(m.raw), m.received) for m in demo_mail()]


def application(i: int) -> bytes:
    """An application from organisation ``i`` (each its own sender, so each its own case)."""
    return to_crlf(make_mail(
        APPLICATION, sender=f"Org {i} <kontakt@org{i}.dk>", domain=f"org{i}.dk",
        attachments=[("Ansøgningsskema.pdf", minimal_pdf(), "application/pdf")],
    ))


def count(app, model) -> int:
    """Rows of ``model`` in the app's database."""
    with app.context.factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def count_processed_cases(app) -> tuple[int, int, int]:
    """(raw messages, processed raw messages, cases)."""
    with app.context.factory() as s:
        raw = s.scalar(select(func.count()).select_from(RawMessage))
        done = s.scalar(select(func.count()).select_from(RawMessage)
                        .where(RawMessage.state == MessageState.PROCESSED))
        cases = s.scalar(select(func.count()).select_from(Case))
    return raw, done, cases


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    """Poll ``condition`` until true; the deadline is generous, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_poll_stores_routes_and_sets_keyword_without_seen(imap_app, dovecot):
    mails = demo_inbox()
    uids = inbox(dovecot, mails)
    app = imap_app()
    report = poll_once(app)
    assert report.processed == {"case": 3, "triage": 1, "ignored": 2}
    with app.context.factory() as s:
        stored = {m.sha256: m for m in s.scalars(select(RawMessage))}
        assert len(stored) == 6
        for raw, when in mails:
            msg = stored[hashlib.sha256(raw).hexdigest()]  # the exact bytes came back
            # Dovecot replaces an INTERNALDATE in the future by the time of the APPEND
            if when < dt.datetime.now(dt.UTC):
                assert msg.internaldate == when
            assert msg.internaldate.utcoffset() == dt.timedelta(0)
            assert msg.state == MessageState.PROCESSED
        late = s.scalar(select(Case).where(Case.sender == "anne@vestbo.dk"))
        assert late.received_at >= app.pool.deadline_end("application_deadline")
        locations = s.scalars(select(MessageLocation)).all()
        assert sorted(int(loc.uid) for loc in locations) == sorted(uids)
        assert all(loc.acked_at is not None for loc in locations)
    flags = dovecot.flags()
    assert set(flags) == set(uids)
    assert all(KEYWORD in f and "\\Seen" not in f for f in flags.values()), flags

    again = poll_once(app)
    assert again.fetched["imap:pulje"].seen == 0
    assert sum(again.processed.values()) == 0
    assert count(app, RawMessage) == 6


def test_ack_move_empties_inbox_and_processes_once(imap_app, dovecot):
    dovecot.create_folder("Behandlet")
    inbox(dovecot, demo_inbox())
    app = imap_app(ack="move", move_to="Behandlet")
    assert sum(poll_once(app).processed.values()) == 6
    assert dovecot.flags("INBOX") == {}
    moved = dovecot.flags("Behandlet")
    assert len(moved) == 6 and all("\\Seen" not in f for f in moved.values())

    inbox(dovecot, [(application(1), dt.datetime(2025, 7, 30, 10, 0, tzinfo=dt.UTC))])
    second = poll_once(app)
    assert second.processed == {"case": 1}
    assert sum(poll_once(app).processed.values()) == 0
    assert count(app, RawMessage) == 7 and count(app, Case) == 4
    assert dovecot.flags("INBOX") == {} and len(dovecot.flags("Behandlet")) == 7


# Dovecot's own list without MOVE (and without UIDPLUS / IDLE), as older servers answer
OLD_SERVER = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT UNSELECT CHILDREN NAMESPACE LITERAL+"


@pytest.mark.parametrize("uidplus", [True, False], ids=["uidplus", "no-uidplus"])
def test_move_without_move_capability_copies_and_deletes(make_app, start_dovecot, uidplus):
    caps = OLD_SERVER + (" UIDPLUS" if uidplus else "")
    server = start_dovecot(extra_config=f"imap_capability = {caps}")
    server.create_folder("Behandlet")
    uids = inbox(server, demo_inbox())
    app = make_app(sources=imap_source_toml(server, ack="move", move_to="Behandlet"))
    assert sum(poll_once(app).processed.values()) == 6
    moved = server.flags("Behandlet")
    assert len(moved) == 6 and all("\\Seen" not in f for f in moved.values())
    left = server.flags("INBOX")
    if uidplus:  # UID EXPUNGE removed exactly ours
        assert left == {}
    else:  # a plain EXPUNGE could remove others' mail too: ours stay, flagged \Deleted
        assert set(left) == set(uids) and all("\\Deleted" in f for f in left.values())
    assert sum(poll_once(app).processed.values()) == 0
    assert count(app, RawMessage) == 6


def test_without_idle_wait_just_sleeps(make_app, start_dovecot, monkeypatch):
    server = start_dovecot(extra_config=f"imap_capability = {OLD_SERVER} UIDPLUS")
    src = ImapSource(make_app(sources=imap_source_toml(server)).settings.sources[0])
    assert src.select("INBOX") > 0
    assert not src._connect().has_capability("IDLE")
    idles = []
    monkeypatch.setattr(src, "_idle_until", lambda *a: idles.append(a))
    src.wait(threading.Event(), 0.2)  # returns after the timeout, never sends IDLE
    assert idles == []
    src.close()


def test_imaplib_does_not_format_each_mail_for_a_debug_log_nobody_reads(imap_app, dovecot):
    """imaplib built repr() of every fetched mail for IMAPClient's debug logger (a third of a
    fetch's time, bench/RESULTS.md); only an operator who asks for that log pays for it."""
    import logging

    src = ImapSource(imap_app().settings.sources[0])
    try:
        assert src._connect()._imap.debug == 0
    finally:
        src.close()
    logger = logging.getLogger("imapclient.imaplib")
    before = logger.level
    logger.setLevel(logging.DEBUG)
    src = ImapSource(imap_app().settings.sources[0])
    try:
        assert src._connect()._imap.debug == 5
    finally:
        src.close()
        logger.setLevel(before)


def test_same_mail_in_two_folders_is_one_message_one_case(imap_app, dovecot):
    dovecot.create_folder("Kopi")
    raw, when = application(1), dt.datetime(2025, 7, 30, 10, 0, tzinfo=dt.UTC)
    inbox(dovecot, [(raw, when)], "INBOX")
    inbox(dovecot, [(raw, when)], "Kopi")
    app = imap_app(folders=["INBOX", "Kopi"])
    report = poll_once(app)
    assert report.fetched["imap:pulje"].stored == 1
    assert report.fetched["imap:pulje"].duplicates == 1
    assert report.processed == {"case": 1}
    assert count(app, RawMessage) == 1 and count(app, Case) == 1
    with app.context.factory() as s:
        assert sorted(s.scalars(select(MessageLocation.folder))) == ["INBOX", "Kopi"]
    assert all(KEYWORD in f for f in dovecot.flags("Kopi").values())


def test_uidvalidity_change_stores_and_routes_nothing_twice(imap_app, dovecot):
    folder = "Ansøgninger"  # non-ASCII: travels as modified UTF-7
    dovecot.create_folder(folder)
    mails = demo_inbox()
    inbox(dovecot, mails, folder)
    app = imap_app(folders=[folder])
    assert sum(poll_once(app).processed.values()) == 6
    before = dovecot.uidvalidity(folder)

    dovecot.delete_folder(folder)
    dovecot.create_folder(folder)
    after = dovecot.uidvalidity(folder)
    assert after != before
    assert poll_once(app).fetched["imap:pulje"].seen == 0  # recreated, still empty
    with app.context.factory() as s:
        assert repo.folder_state(s, "imap:pulje", folder).uidvalidity == after
    inbox(dovecot, mails, folder)

    report = poll_once(app)
    stats = report.fetched["imap:pulje"]
    assert (stats.seen, stats.stored, stats.duplicates) == (6, 0, 6)
    assert sum(report.processed.values()) == 0
    assert count(app, RawMessage) == 6 and count(app, Case) == 3
    assert all(KEYWORD in f for f in dovecot.flags(folder).values())
    assert poll_once(app).fetched["imap:pulje"].seen == 0


def test_large_message_fetched_in_slices_is_byte_identical(imap_app, dovecot, monkeypatch):
    payload = os.urandom(3 * 1024 * 1024)
    raw = to_crlf(make_mail(APPLICATION, attachments=[
        ("Ansøgningsskema.pdf", minimal_pdf(), "application/pdf"),
        ("bilag.bin", payload, "application/octet-stream"),
    ]))
    small = application(2)
    when = dt.datetime(2025, 7, 28, 8, 30, tzinfo=dt.UTC)
    inbox(dovecot, [(small, when), (raw, when), (application(3), when)])
    app = imap_app(slice_bytes=256 * 1024, fetch_batch=2)
    assert len(raw) > 16 * 256 * 1024
    # watch (and pass through) every FETCH answer: none may carry more than a slice
    answered = []
    real_fetch = IMAPClient.fetch

    def fetch_and_measure(self, messages, data, *args, **kwargs):
        result = real_fetch(self, messages, data, *args, **kwargs)
        answered.append(sum(len(v) for d in result.values() for k, v in d.items()
                            if isinstance(k, bytes) and k.startswith(b"BODY[]")))
        return result

    monkeypatch.setattr(IMAPClient, "fetch", fetch_and_measure)
    report = poll_once(app)
    assert max(answered) <= 256 * 1024 and sum(answered) >= len(raw)
    assert report.fetched["imap:pulje"].stored == 3
    with app.context.factory() as s:
        big = s.scalar(select(RawMessage).where(RawMessage.size == len(raw)))
        assert big is not None
        assert big.sha256 == hashlib.sha256(raw).hexdigest()
        assert bytes(big.raw) == raw
    assert count(app, Case) == 3


class SimulatedCrash(Exception):
    """Stands for the worker dying between the commit of the bytes and the ack."""


def test_crash_between_commit_and_ack_stores_once_and_acks_later(imap_app, dovecot, monkeypatch):
    uid = inbox(dovecot, [(application(1), dt.datetime(2025, 7, 30, 10, 0, tzinfo=dt.UTC))])[0]
    app = imap_app()
    real_ack = ImapSource.ack
    calls = []

    def ack_crashing_once(self, folder, uids):
        calls.append(list(uids))
        if len(calls) == 1:
            raise SimulatedCrash("killed after commit, before ack")
        return real_ack(self, folder, uids)

    monkeypatch.setattr(ImapSource, "ack", ack_crashing_once)
    with pytest.raises(SimulatedCrash):
        poll_once(app)
    assert count(app, RawMessage) == 1
    assert KEYWORD not in dovecot.flags()[uid]

    report = poll_once(app)
    assert report.fetched["imap:pulje"].stored == 0
    assert report.fetched["imap:pulje"].acked == 1
    assert report.processed == {"case": 1}
    assert count(app, RawMessage) == 1 and count(app, Case) == 1
    assert KEYWORD in dovecot.flags()[uid]
    assert calls == [[str(uid)], [str(uid)]]


@pytest.fixture
def service():
    """Start a Service for an app; always shut down."""
    started = []

    def _start(app):
        svc = Service(app)
        svc.start()
        started.append(svc)
        return svc

    yield _start
    for svc in started:
        svc.shutdown()
        assert not any(t.is_alive() for t in svc.threads)


def test_idle_brings_new_mail_without_waiting_for_the_poll_interval(imap_app, dovecot, service):
    when = dt.datetime(2025, 7, 30, 10, 0, tzinfo=dt.UTC)
    app = imap_app(poll_interval_seconds=300)
    inbox(dovecot, [(application(1), when)])
    service(app)
    wait_until(lambda: count_processed_cases(app) == (1, 1, 1), "the first mail (initial fetch)")
    # the service now waits in IDLE; only push can bring this one within the deadline
    inbox(dovecot, [(application(2), when)])
    wait_until(lambda: count_processed_cases(app) == (2, 2, 2), "the second mail (IDLE)")
    assert all(KEYWORD in f for f in dovecot.flags().values())


def test_service_survives_server_crash_without_losing_or_duplicating(imap_app, dovecot, service):
    when = dt.datetime(2025, 7, 30, 10, 0, tzinfo=dt.UTC)
    app = imap_app(poll_interval_seconds=300, fetch_batch=2, reconnect_max_seconds=2)
    inbox(dovecot, [(application(i), when) for i in range(3)])
    service(app)
    wait_until(lambda: count_processed_cases(app) == (3, 3, 3), "the first three mails")

    # a crash while the service sits in IDLE
    dovecot.kill()
    dovecot.restart()
    inbox(dovecot, [(application(i), when) for i in range(3, 5)])
    wait_until(lambda: count_processed_cases(app) == (5, 5, 5), "mail after the first crash")

    # a crash in the middle of fetching a run of batches
    inbox(dovecot, [(application(i), when) for i in range(5, 25)])
    wait_until(lambda: count(app, RawMessage) > 5, "the fetch to begin", timeout=20)
    dovecot.kill()
    dovecot.restart()
    inbox(dovecot, [(application(i), when) for i in range(25, 28)])
    wait_until(lambda: count_processed_cases(app) == (28, 28, 28), "every mail after the second crash")

    with app.context.factory() as s:
        per_message = s.execute(
            select(MessageLocation.uid, func.count()).group_by(MessageLocation.uid)
        ).all()
        assert all(n == 1 for _, n in per_message)
        assert len(per_message) == 28
    wait_until(lambda: all(KEYWORD in f for f in dovecot.flags().values()), "every ack")


def waiting(src: ImapSource, stop: threading.Event, timeout: float):
    """Run ``src.wait`` in a thread; the result dict gets "error" if it raised."""
    result: dict = {}

    def run():
        try:
            src.wait(stop, timeout)
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_wait_reissues_idle_and_returns_on_timeout_or_stop(imap_app, dovecot, monkeypatch):
    src = ImapSource(imap_app(idle_renew_seconds=0.5).settings.sources[0])
    idles = []
    real = src._idle_until
    monkeypatch.setattr(src, "_idle_until", lambda *a: idles.append(1) or real(*a))
    stop = threading.Event()
    src.wait(stop, 1.6)  # no mail: several IDLE commands, then the timeout
    assert len(idles) >= 3
    assert src.select("INBOX") > 0  # the connection is still in a usable state

    thread, result = waiting(src, stop, 300)
    wait_until(lambda: len(idles) >= 5, "a new IDLE")
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and "error" not in result
    src.close()


def test_wait_returns_when_mail_arrives(imap_app, dovecot):
    src = ImapSource(imap_app().settings.sources[0])
    src.select("INBOX")
    assert list(src.fetch_new("INBOX", 0, set)) == []
    thread, result = waiting(src, threading.Event(), 300)
    inbox(dovecot, [(application(1), dt.datetime(2025, 7, 30, 10, 0, tzinfo=dt.UTC))])
    thread.join(20)
    assert not thread.is_alive() and "error" not in result
    src.close()


def test_wait_raises_when_the_server_dies_during_idle(imap_app, dovecot, monkeypatch):
    src = ImapSource(imap_app().settings.sources[0])
    entered = threading.Event()
    real = src._idle_until
    monkeypatch.setattr(src, "_idle_until", lambda *a: entered.set() or real(*a))
    thread, result = waiting(src, threading.Event(), 300)
    assert entered.wait(10)
    dovecot.kill()
    thread.join(20)
    assert not thread.is_alive()
    assert isinstance(result.get("error"), TemporaryFailure), result
    src.close()  # quiet on a dead connection


def test_tls_and_starttls_with_a_trusted_certificate(make_app, dovecot_tls, monkeypatch):
    # the certificate is self-signed: trust it the way OpenSSL lets an operator do it
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot_tls.cert))
    inbox(dovecot_tls, [(application(1), dt.datetime(2025, 7, 30, 10, 0, tzinfo=dt.UTC))])
    app = make_app(sources=imap_source_toml(dovecot_tls, name="tls", security="tls",
                                            port=dovecot_tls.tls_port)
                   + imap_source_toml(dovecot_tls, name="starttls", security="starttls"))
    report = poll_once(app)
    assert report.fetched["imap:tls"].stored == 1
    assert report.fetched["imap:starttls"].duplicates == 1
    assert count(app, RawMessage) == 1 and count(app, Case) == 1


def test_untrusted_certificate_and_missing_starttls_are_config_errors(make_app, dovecot_tls,
                                                                       dovecot, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    app = make_app(sources=imap_source_toml(dovecot_tls, name="tls", security="tls",
                                            port=dovecot_tls.tls_port)
                   + imap_source_toml(dovecot, name="nostarttls", security="starttls"))
    untrusted, plain_only = (ImapSource(cfg) for cfg in app.settings.sources)
    with pytest.raises(ConfigError, match="source 'tls'.*certificate"):
        untrusted.check()
    with pytest.raises(ConfigError, match="source 'nostarttls'.*STARTTLS"):
        plain_only.check()


def test_move_to_must_not_be_a_source_folder():
    source = {"type": "imap", "host": "h", "username": "u", "password_env": "X",
              "folders": ["INBOX", "Behandlet"], "ack": "move", "move_to": "Behandlet"}
    with pytest.raises(ConfigError, match=r"^s\.toml: sources\[0\]\.move_to: must not be"):
        parse_settings({"sources": [source]}, "s.toml", Path("."))


@pytest.mark.parametrize("key", ["fetch_batch", "slice_bytes", "timeout_seconds"])
def test_sizes_and_timeouts_must_be_positive(key):
    source = {"type": "imap", "host": "h", "username": "u", "password_env": "X", key: 0}
    with pytest.raises(ConfigError, match=rf"^s\.toml: sources\[0\]\.{key}: must be"):
        parse_settings({"sources": [source]}, "s.toml", Path("."))


# -- the command line ------------------------------------------------------------


def run_cli(settings_path, *commands: str, env_password: str | None = "secret"):
    """Run ``pulje-intake --config X COMMAND`` once per command, side by side (each
    start-up costs a second or two); return the finished processes in order."""
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    if env_password is not None:
        env[PASSWORD_ENV] = env_password
    procs = [subprocess.Popen([sys.executable, "-m", "intake.commands.cli", "--config", str(settings_path),
                               command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for command in commands]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def settings_file(workdir, db_url, dovecot, **options):
    return write_settings(workdir, db_url, "", imap_source_toml(dovecot, **options))


def assert_one_line_error(proc, *needles: str) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_cli_check_and_poll_with_good_settings(workdir, db_url, dovecot):
    inbox(dovecot, demo_inbox()[:2])
    path = settings_file(workdir, db_url, dovecot)
    check, poll = run_cli(path, "check", "poll")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"imap 127.0.0.1:{dovecot.port} login ok, INBOX: 2 messages" in check.stdout
    assert poll.returncode == 0, poll.stdout + poll.stderr
    assert "imap:pulje: 2 new, 2 stored" in poll.stdout


def test_cli_wrong_password_exits_1_with_one_line(workdir, db_url, dovecot):
    path = settings_file(workdir, db_url, dovecot)
    check, poll = run_cli(path, "check", "poll", env_password="wrong")
    assert check.returncode == 1
    assert "Traceback" not in check.stdout + check.stderr
    fails = [line for line in check.stdout.splitlines() if line.startswith("[FAIL]")]
    assert len(fails) == 1 and "refused the login of 'pulje'" in fails[0], check.stdout
    assert poll.returncode == 1
    assert_one_line_error(poll, "source 'pulje'", "refused the login")


def test_cli_unreachable_server_exits_75_with_one_line(workdir, db_url, dovecot):
    path = settings_file(workdir, db_url, dovecot, port=free_port())
    check, poll = run_cli(path, "check", "poll")
    assert check.returncode == 75
    assert "Traceback" not in check.stdout + check.stderr
    fails = [line for line in check.stdout.splitlines() if line.startswith("[FAIL]")]
    assert len(fails) == 1 and "unreachable" in fails[0], check.stdout
    assert poll.returncode == 75
    assert_one_line_error(poll, "temporary failure", "unreachable")


def test_cli_bad_settings_exit_1_naming_file_and_key(workdir, db_url, dovecot):
    path = settings_file(workdir, db_url, dovecot, port="abc")
    check, poll = run_cli(path, "check", "poll")
    assert check.returncode == 1
    assert "Traceback" not in check.stdout + check.stderr
    assert str(path) in check.stdout and "sources[0].port" in check.stdout, check.stdout
    assert poll.returncode == 1
    assert_one_line_error(poll, str(path), "sources[0].port", "expected int")
