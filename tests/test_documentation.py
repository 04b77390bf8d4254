"""A grant's quarterly documentation: it joins the grant, is acknowledged, approved or rejected by
staff (the grantee is told), and reminded of once when it does not come."""

from __future__ import annotations

import datetime as dt

from grant_helpers import NORD, UTC, decided_round, deliver, documentation, mails_to
from sqlalchemy import select

from intake.cases.reprocess import reprocess
from intake.commands import cli
from intake.outbox import remind_and_drain
from intake.service import poll_once
from store import grants, work
from store import repository as repo
from store.grant_models import GrantQuarter
from store.models import Case, RawMessage
from store.words import WorkKind

pytest_plugins = ["smtp_sink"]

PAYSLIPS = ("Lønsedler januar-marts 2026.pdf", "Lønsedler for den sociale vicevært")
ACTIVITY = ("Aktivitetsregnskab Q1 2026.pdf", "Opgørelse af aktivitetsmidler")
METTE_ADDR = "mette@boligselskabet-nord.dk"


def _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    """Nord granted and told so; the clock in April 2026."""
    app = decided_round(make_app, workdir, clock, smtp_sink)
    monkeypatch.setattr(cli, "_app", lambda a: app)
    assert cli.main(["decisions", "letters", "--send"]) == 0
    capsys.readouterr()
    clock.now = dt.datetime(2026, 4, 14, 10, 0, tzinfo=UTC)
    return app


def _quarter(app, quarter: str) -> GrantQuarter | None:
    with app.context.factory() as s:
        return grants.quarter_row(s, repo.get_case(s, NORD).id, quarter)


def _documentation_cases(app) -> list[Case]:
    with app.context.factory() as s:
        return list(s.scalars(select(Case).where(Case.kind == "documentation").order_by(Case.id)))


def test_documentation_joins_the_grant_and_the_receipt_says_which_quarter(
        make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    # from the bookkeeper, not the applicant: the mail domain finds the grant
    deliver(workdir, documentation("Dokumentation Q1 2026", [PAYSLIPS, ACTIVITY],
                                   sender="Lars Bogholder <lars@boligselskabet-nord.dk>"))
    poll_once(app)

    (doc,) = _documentation_cases(app)
    with app.context.factory() as s:
        assert s.get(Case, doc.parent_pk).case_id == NORD
        assert doc.status == "komplet" and doc.org_name == "Boligselskabet Nord"
        roles = [(a.filename, a.role, a.parts) for a in repo.get_case(s, doc.case_id).submissions[0].attachments]
    assert roles == [(PAYSLIPS[0], "dokumentation", ["loen"]), (ACTIVITY[0], "dokumentation", ["aktivitetsmidler"])]
    q = _quarter(app, "2026Q1")
    assert (q.state, q.documentation_pk, q.inferred) == ("modtaget", doc.id, False)

    (receipt,) = mails_to(smtp_sink, "lars@boligselskabet-nord.dk")
    assert receipt.subject == f"[{NORD}] Kvittering: Dokumentation Q1 2026"  # the grant's number
    text = receipt.text()
    assert "Tak for jeres dokumentation for 1. kvartal 2026." in text
    assert f"jeres bevilling {NORD} (Boligselskabet Nord)" in text
    assert f"- {PAYSLIPS[0]}: læst som løndokumentation" in text
    assert f"- {ACTIVITY[0]}: læst som opgørelse af aktivitetsmidler" in text
    assert "Vi har fundet løndokumentation og opgørelse af aktivitetsmidler." in text
    assert "normalt inden for 10 arbejdsdage" in text and "DET MANGLER" not in text
    assert receipt.message["Auto-Submitted"] == "auto-replied" and receipt.message["X-Loop"] == "pulje@bl.dk"


def test_missing_payslips_are_asked_for_and_a_reply_completes_the_quarter(
        make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    # no quarter named anywhere, and no payslips
    deliver(workdir, documentation("Udbetaling", [("Aktiviteter.pdf", "Opgørelse af aktivitetsmidler")]))
    poll_once(app)
    (doc,) = _documentation_cases(app)
    assert doc.status == "mangler"
    (receipt,) = mails_to(smtp_sink, METTE_ADDR, "Kvittering: Udbetaling")
    text = receipt.text()
    assert "Mailen nævner ikke, hvilket kvartal dokumentationen gælder. Vi har regnet med 1. kvartal 2026" in text
    assert ("For at vi kan godkende kvartalet, mangler vi løndokumentation for kvartalet: lønsedler eller en "
            "lønoversigt for de sociale viceværter.") in text
    assert _quarter(app, "2026Q1").inferred

    clock.advance(days=2)
    reply = documentation(f"SV: {receipt.subject}", [PAYSLIPS], at=clock.now,
                          headers={"In-Reply-To": receipt.message_id, "References": receipt.message_id})
    deliver(workdir, reply)
    poll_once(app)
    (doc,) = _documentation_cases(app)  # the same quarter's case, not a new one
    assert doc.status == "komplet"
    second = mails_to(smtp_sink, METTE_ADDR, "Kvittering")[-1]
    assert second.subject == f"[{NORD}] Kvittering: Udbetaling"  # no snowballing prefixes
    assert "Vi har fundet løndokumentation og opgørelse af aktivitetsmidler." in second.text()
    assert "DET MANGLER" not in second.text()


def test_documentation_from_nobody_with_a_grant_waits_for_a_person_with_the_reason(
        make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    sent = len(smtp_sink.messages)
    deliver(workdir, documentation("Dokumentation Q1 2026", [PAYSLIPS], sender="Ukendt <x@gmail.com>"))
    poll_once(app)
    with app.context.factory() as s:
        msg = s.scalar(select(RawMessage).where(RawMessage.sender == "x@gmail.com"))
        assert msg.outcome == "triage"
        assert msg.reason.startswith("documentation matches no granted application")
        assert [i.kind for i in work.open_items(s).items if i.message_pk == msg.id] == [WorkKind.TRIAGE]
    assert len(smtp_sink.messages) == sent and _documentation_cases(app) == []


def test_an_unclear_quarter_is_a_case_for_a_person_to_check(make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    deliver(workdir, documentation("Dokumentation Q1 og Q2 2026", [PAYSLIPS]))
    poll_once(app)
    (doc,) = _documentation_cases(app)
    with app.context.factory() as s:
        problems = repo.get_case(s, doc.case_id).submissions[0].problems
        items = [i for i in work.open_items(s).items if i.case_id == doc.case_id]
        assert s.scalar(select(GrantQuarter)) is None  # no quarter is guessed
    assert [p["code"] for p in problems] == ["documentation_quarter_unclear"]
    assert "1. kvartal 2026 og 2. kvartal 2026" in problems[0]["message"]
    assert [i.kind for i in items] == [WorkKind.REVIEW]


def test_a_tagged_mail_with_payslips_is_documentation_and_one_without_files_a_reply(
        make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    deliver(workdir, documentation(f"[{NORD}] lønsedler", [("lønseddel marts 2026.pdf", "Lønseddel")]),
            documentation(f"Dokumentation Q2 2026 [{NORD}]", [], at=dt.datetime(2026, 4, 14, 10, tzinfo=UTC)))
    poll_once(app)
    (doc,) = _documentation_cases(app)
    assert _quarter(app, "2026Q1").documentation_pk == doc.id
    with app.context.factory() as s:
        bare = s.scalar(select(RawMessage).where(RawMessage.subject == f"Dokumentation Q2 2026 [{NORD}]"))
        assert (bare.outcome, s.get(Case, bare.case_pk).case_id) == ("followup", NORD)
        assert [i.kind for i in work.open_items(s).items if i.message_pk == bare.id] == [WorkKind.REPLY]
    assert len(mails_to(smtp_sink, METTE_ADDR, "Kvittering: Dokumentation Q2")) == 0


def test_staff_approve_and_reject_quarters_and_the_grantee_is_told(
        make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    deliver(workdir, documentation("Dokumentation Q1 2026", [PAYSLIPS]))
    poll_once(app)
    (receipt,) = mails_to(smtp_sink, METTE_ADDR, "Kvittering: Dokumentation")

    assert cli.main(["documentation", "approve", NORD, "2026Q1", "--by", "mette-bl"]) == 0
    assert "PSV-2025-0001 2026Q1 godkendt: 142.691,50 kr." in capsys.readouterr().out
    q = _quarter(app, "2026Q1")
    assert (q.state, q.amount, q.decided_by, q.decided_at) == ("godkendt", "142691.50", "mette-bl", clock.now)
    (approved,) = mails_to(smtp_sink, METTE_ADDR, "Godkendt")
    assert approved.subject == f"[{NORD}] Godkendt: dokumentation for 1. kvartal 2026"
    assert "Kvartalets tilskud på 142.691,50 kr. kommer med den næste udbetaling" in approved.text()
    assert approved.message["In-Reply-To"] == receipt.message_id  # under the documentation's receipt
    # again: nothing changes, nothing is sent
    assert cli.main(["documentation", "approve", NORD, "2026Q1"]) == 0
    assert "var allerede godkendt" in capsys.readouterr().out
    assert len(mails_to(smtp_sink, METTE_ADDR, "Godkendt")) == 1

    # a rejection needs a reason, and the grantee gets it
    assert cli.main(["documentation", "reject", NORD, "2026Q2", "--reason", ""]) == 1
    assert "skal have en begrundelse" in capsys.readouterr().err
    why = "Lønsedlerne dækker ikke april–juni."
    assert cli.main(["documentation", "reject", NORD, "2026Q2", "--reason", why, "--by", "mette-bl"]) == 0
    (rejected,) = mails_to(smtp_sink, METTE_ADDR, "Afvist")
    assert rejected.subject == f"[{NORD}] Afvist: dokumentation for 2. kvartal 2026"
    assert f"Begrundelse: {why}" in rejected.text() and why in rejected.html()
    assert (_quarter(app, "2026Q2").state, _quarter(app, "2026Q2").reason) == ("afvist", why)

    # wrong choices are refused in Danish, with nothing changed
    for args, words in ((["approve", "PSV-2025-0003", "2026Q1"], "ikke en bevilget ansøgning"),
                        (["approve", NORD, "2025Q4"], "ikke et af puljens kvartaler"),
                        (["approve", NORD, "første"], "er ikke et kvartal")):
        assert cli.main(["documentation", *args]) == 1
        assert words in capsys.readouterr().err
    assert cli.main(["documentation", "list"]) == 0
    listing = capsys.readouterr().out
    assert "PSV-2025-0001  2026Q1  godkendt af mette-bl  142.691,50 kr." in listing
    assert f"PSV-2025-0001  2026Q2  afvist af mette-bl  begrundelse: {why}" in listing


def test_missing_documentation_is_reminded_of_once_per_quarter(
        make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    (letter,) = mails_to(smtp_sink, METTE_ADDR, "Bevilling")
    deliver(workdir, documentation("Dokumentation Q2 2026", [PAYSLIPS], at=dt.datetime(2026, 7, 2, tzinfo=UTC)))
    poll_once(app)
    # Q1 is due by 30 April (30 days after it ended): nothing before that day has ended
    clock.now = dt.datetime(2026, 4, 30, 20, 0, tzinfo=UTC)  # 22.00 in Copenhagen, still 30 April
    remind_and_drain(app)
    assert mails_to(smtp_sink, METTE_ADDR, "Påmindelse") == []
    for i in range(6):
        if i == 3:
            app = make_app(smtp_sink.settings_toml(max_receipt_age_hours=1000000))  # a restart
        clock.now = dt.datetime(2026, 8, 5, 8, 0, tzinfo=UTC) + dt.timedelta(hours=i)
        remind_and_drain(app)
    reminders = mails_to(smtp_sink, METTE_ADDR, "Påmindelse")
    assert [m.subject for m in reminders] == [f"[{NORD}] Påmindelse: dokumentation for 1. kvartal 2026"]
    text = reminders[0].text()
    assert "Kvartalet sluttede 31. marts 2026" in text and "senest 30. april 2026 kl. 23.59" in text
    assert f'"Dokumentation Q1 2026 [{NORD}]"' in text
    assert reminders[0].message["In-Reply-To"] == letter.message_id  # under the grant letter


def test_reprocessing_documentation_changes_nothing_and_sends_nothing(
        make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    deliver(workdir, documentation("Dokumentation Q1 2026", [PAYSLIPS]),
            documentation(f"[{NORD}] Dokumentation", [ACTIVITY], at=dt.datetime(2026, 4, 15, 8, tzinfo=UTC)))
    poll_once(app)
    before = [(c.case_id, c.status) for c in _documentation_cases(app)]
    sent = len(smtp_sink.messages)
    reprocess(app.context, [])
    poll_once(app)
    assert [(c.case_id, c.status) for c in _documentation_cases(app)] == before == [("PSV-2025-0004", "komplet")]
    assert len(smtp_sink.messages) == sent


def test_our_own_mail_coming_back_is_not_answered(make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    app = _granted(make_app, workdir, clock, smtp_sink, monkeypatch, capsys)
    sent = len(smtp_sink.messages)
    # a forwarding rule sends our own mail back, our X-Loop header still on it
    deliver(workdir, documentation(f"[{NORD}] Bevilling: Pulje til sociale viceværter", [PAYSLIPS],
                                   sender="Videresendt <kopi@boligselskabet-nord.dk>",
                                   headers={"X-Loop": "pulje@bl.dk"}))
    poll_once(app)
    with app.context.factory() as s:
        msg = s.scalar(select(RawMessage).where(RawMessage.sender == "kopi@boligselskabet-nord.dk"))
        assert msg.outcome == "ignored" and "X-Loop" in msg.reason
    assert len(smtp_sink.messages) == sent and _documentation_cases(app) == []
