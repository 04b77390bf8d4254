"""``quarantine list | show | release [--as KIND]`` end to end, on mail whose processing crashed."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from conftest import write_settings
from notify_helpers import application, deliver
from reading_helpers import crash_reading
from sqlalchemy import select

from intake.cases import pipeline
from intake.commands.cli import main
from intake.documents.samples import SampleMail, make_mail, minimal_pdf
from store.models import Case, OutboxMessage, RawMessage
from store.words import MessageState, Outcome

NOW = dt.datetime.now(dt.UTC)


def crash(*args, **kwargs):
    raise RuntimeError("the form reader crashed")


ROUTE = pipeline.routing.route


def crashing_router(mail, *args, **kwargs):
    """Routing that crashes on the mail with the subject "Hej" (so it is quarantined before any case)."""
    if mail.subject == "Hej":
        raise RuntimeError("the router crashed")
    return ROUTE(mail, *args, **kwargs)


ONE_TRY = "[processing]\nmax_attempts = 1\n"


@pytest.fixture
def settings(workdir, db_url):
    return write_settings(workdir, db_url, ONE_TRY)


@pytest.fixture
def app(make_app):
    """The database the commands work on (the same settings file, written again the same)."""
    return make_app(ONE_TRY)


@pytest.fixture
def cli(settings, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(settings), "-q", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def quarantined(workdir, cli, monkeypatch):
    """Three mails whose processing crashed, each quarantined after its one attempt."""
    hostile = "=?utf-8?b?" + base64.b64encode(
        "Ansøgning – Pulje til sociale viceværter \x1b[31mRØD\x1b[0m \u202eevil".encode()).decode() + "?="
    deliver(workdir,
            application("a", "Mette Hansen <mette@boligselskabet-nord.dk>", NOW),
            SampleMail("b", make_mail(hostile, sender="Jens <jens@bf-syd.dk>", domain="bf-syd.dk",
                                      attachments=[("Ansøgningsskema.pdf", minimal_pdf(), "application/pdf")]),
                       NOW + dt.timedelta(seconds=1)),
            SampleMail("c", make_mail("Hej", sender="Lars <lars@kirkebo.dk>", domain="kirkebo.dk",
                                      attachments=[("skema.pdf", minimal_pdf(), "application/pdf")]),
                       NOW + dt.timedelta(seconds=2)))
    with monkeypatch.context() as m:
        crash_reading(m, crash)
        m.setattr(pipeline.routing, "route", crashing_router)
        assert cli("poll")[0] == 0


def state(app, pk: int) -> RawMessage:
    with app.context.factory() as s:
        return s.get_one(RawMessage, pk)


def test_list_shows_what_was_given_up_and_why(quarantined, cli):
    code, out, _ = cli("quarantine", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["msg", "received", "tries", "seen", "sender", "subject", "last", "error"]
    assert len(lines) == 5
    assert "RuntimeError: the form reader crashed" in lines[2] and "mette@boligselskabet-nord.dk" in lines[2]
    assert "\x1b" not in out and "\u202e" not in out


def test_show_says_why_headers_and_attachments_safely_and_marks_it_seen(quarantined, cli, app):
    code, out, _ = cli("quarantine", "show", "2")
    assert code == 0
    assert "Message 2: quarantined after 1 failed attempt(s)" in out
    assert "  why:        quarantined after 1 failed attempts: RuntimeError: the form reader crashed" in out
    assert "  From: Jens <jens@bf-syd.dk>" in out
    # an escape sequence or a right-to-left override in a subject must not reach the terminal
    assert "  Subject: Ansøgning – Pulje til sociale viceværter ?[31mRØD?[0m ?evil" in out
    assert "\x1b" not in out and "\u202e" not in out
    assert "  - Ansøgningsskema.pdf: pdf by its bytes" in out and "declared application/pdf" in out
    assert "release: pulje-intake quarantine release 2 [--as application|report|triage]" in out
    assert state(app, 2).quarantine_seen_at is not None and state(app, 1).quarantine_seen_at is None


def test_release_after_a_fix_makes_the_case(quarantined, cli, app):
    code, out, _ = cli("quarantine", "release", "1")
    assert code == 0
    assert out.startswith("message 1 released: case PSV-2025-0001:")
    msg = state(app, 1)
    assert (msg.state, msg.outcome) == (MessageState.PROCESSED, Outcome.CASE)
    with app.context.factory() as s:  # the applicant gets the receipt the crash kept back
        assert s.scalars(select(OutboxMessage.recipient)).all() == ["mette@boligselskabet-nord.dk"]


def test_release_that_fails_again_goes_back_to_quarantine_unseen(quarantined, cli, app, monkeypatch):
    cli("quarantine", "show", "1")
    crash_reading(monkeypatch, crash)
    code, out, _ = cli("quarantine", "release", "1")
    assert code == 0
    assert out.startswith("message 1 failed again (quarantined, attempt 1 of 1): RuntimeError: the form reader")
    assert state(app, 1).quarantine_seen_at is None  # news again for status


def test_release_as_application_makes_a_case_whatever_the_subject(quarantined, cli, app):
    code, out, _ = cli("quarantine", "release", "3", "--as", "application")
    assert code == 0, out
    assert out.startswith("message 3 released: case PSV-2025-0001: made application by the operator")
    with app.context.factory() as s:
        case = s.scalars(select(Case)).one()
        assert (case.kind, case.sender, case.subject) == ("application", "lars@kirkebo.dk", "Hej")


def test_release_as_triage_and_as_report_without_a_grant(quarantined, cli, app):
    code, out, _ = cli("quarantine", "release", "2", "--as", "triage")
    assert code == 0 and out.startswith("message 2 released: triage: put in triage by the operator")
    code, out, _ = cli("quarantine", "release", "1", "--as", "report")
    assert code == 0
    assert out.startswith("message 1 released: triage: report matches no granted application")
    assert state(app, 1).outcome == Outcome.TRIAGE


def test_release_as_a_kind_that_crashes_goes_back_to_quarantine_keeping_the_choice(
        quarantined, cli, app, monkeypatch):
    crash_reading(monkeypatch, crash)
    code, out, _ = cli("quarantine", "release", "3", "--as", "application")
    assert code == 0
    assert out.startswith("message 3 failed again (quarantined, attempt 1 of 1): RuntimeError")
    assert state(app, 3).state == MessageState.QUARANTINED
    monkeypatch.undo()  # fixed: a plain release now goes the way the operator chose
    code, out, _ = cli("quarantine", "release", "3")
    assert out.startswith("message 3 released: case PSV-2025-0001: made application by the operator")


def test_only_quarantined_mail_is_released(quarantined, cli):
    code, _, err = cli("quarantine", "release", "99")
    assert code == 1 and "no stored message 99" in err
    cli("quarantine", "release", "1")
    code, _, err = cli("quarantine", "release", "1")
    assert code == 1 and "message 1 is not quarantined (processed)" in err
