"""Cases from real documents: status, resubmissions, replies with attachments, reports, reprocess."""

from __future__ import annotations

import docbuilders as db
from fixturegen.applications import App, budget_att, form_att, mail, on, one_fte_budget
from fixturegen.reports import FILENAMES, PARTS, part_pdf, report_mail
from sqlalchemy import func, select

from intake.cases.pipeline import process_pending
from intake.cases.reprocess import reprocess
from intake.commands.views import case_detail
from store import repository as repo
from store.db import transaction
from store.models import Case, RawMessage, Submission

_uid = iter(range(1, 10_000))


def deliver(app, *mails):
    """Store mails as the fetcher would and process them."""
    ctx = app.context
    with transaction(ctx.factory) as s:
        for m in mails:
            repo.store_raw(s, repo.Fetched("test", "INBOX", 1, str(next(_uid)), m.received, m.raw),
                           ctx.now())
    return process_pending(ctx)


def cases(app):
    with app.context.factory() as s:
        return [(c.case_id, c.kind, c.status, len(c.submissions))
                for c in s.scalars(select(Case).order_by(Case.id))]


def complete(org: App, day=20):
    return mail(org, [form_att(db.fill_form(org.typed)), budget_att(db.budget_xlsx(one_fte_budget()))],
                on(day))


def test_a_complete_application_becomes_a_complete_case_with_its_values(app):
    org = App(1, "complete")
    deliver(app, complete(org))
    with app.context.factory() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "komplet"
        assert (case.org_name, case.cvr, case.municipality) == (org.want["org_name"], org.want["cvr"], "Aarhus")
        sub = case.submissions[0]
        assert [a.role for a in sub.attachments] == ["form", "budget"]
        assert sub.problems == []
        shown = case_detail(s, case, app.pool)
    assert "cvr: " + org.want["cvr"] + "   [PDF field" in shown
    assert "Løn 2026" in shown and "550766.00" in shown and "I alt" in shown
    assert "rate cell Budget!C5 (name salary_2026_rate)" in shown
    assert "problems: none" in shown


def test_a_missing_budget_is_mangler_and_the_view_says_what_to_do(app):
    org = App(2, "nobudget")
    deliver(app, mail(org, [form_att(db.fill_form(org.typed))], on(10)))
    with app.context.factory() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "mangler"
        assert [p["code"] for p in case.submissions[0].problems] == ["budget_missing"]
        assert "budgetskabelon" in case_detail(s, case, app.pool)


def test_a_resubmission_by_the_same_cvr_supersedes_the_incomplete_one(app):
    org = App(3, "resubmit")
    deliver(app, mail(org, [form_att(db.fill_form(org.typed))], on(10)))
    other_sender = App(3, "resubmit")
    other_sender.sender = "direktion@resubmit.dk"  # same organisation, another person
    deliver(app, complete(other_sender, day=12))
    assert cases(app) == [("PSV-2025-0001", "application", "komplet", 2)]
    with app.context.factory() as s:
        case = s.scalars(select(Case)).one()
        assert [sub.current for sub in case.submissions] == [False, True]
        assert [sub.status for sub in case.submissions] == ["mangler", "komplet"]
        assert "resubmission" in [e.kind for e in case.events]
        assert "superseded" in case_detail(s, case, app.pool)


def test_a_new_version_of_a_complete_application_before_the_deadline_replaces_it(app):
    org = App(7, "newversion")
    deliver(app, complete(org, day=10))
    corrected = App(7, "newversion")
    corrected.typed = {**org.typed, "evictions": "9"}
    deliver(app, complete(corrected, day=14))
    # one organisation, one case: the committee sees the newest version, the history keeps both
    assert cases(app) == [("PSV-2025-0001", "application", "komplet", 2)]
    with app.context.factory() as s:
        case = s.scalars(select(Case)).one()
        assert [sub.current for sub in case.submissions] == [False, True]
        assert [sub.fields["evictions"]["value"] for sub in case.submissions] == [7, 9]


def test_another_cvr_from_the_same_sender_is_another_case(app):
    first, second = App(4, "consultant"), App(5, "consultant")
    deliver(app, mail(first, [form_att(db.fill_form(first.typed))], on(10)))
    deliver(app, complete(second, day=11))
    assert [c[2:] for c in cases(app)] == [("mangler", 1), ("komplet", 1)]


def test_a_late_resubmission_does_not_replace_the_application_made_in_time(app):
    org = App(6, "late")
    deliver(app, mail(org, [form_att(db.fill_form(org.typed))], on(10)))
    deliver(app, mail(org, [form_att(db.fill_form(org.typed)),
                            budget_att(db.budget_xlsx(one_fte_budget()))], on(3, month=8)))
    assert [c[2:] for c in cases(app)] == [("mangler", 1), ("for sent", 1)]


def test_a_reply_with_the_missing_budget_completes_the_case_and_keeps_the_form(app):
    org = App(7, "reply")
    first = mail(org, [form_att(db.fill_form(org.typed))], on(10))
    reply = mail(org, [budget_att(db.budget_xlsx(one_fte_budget()))], on(11),
                 subject="SV: Ansøgning – Pulje til sociale viceværter",
                 headers={"In-Reply-To": first.message_id})
    deliver(app, first, reply)
    assert cases(app) == [("PSV-2025-0001", "application", "komplet", 2)]
    with app.context.factory() as s:
        current = s.scalars(select(Submission).where(Submission.current)).one()
        assert sorted(a.role for a in current.attachments) == ["budget", "form"]
        assert current.fields["cvr"]["value"] == org.want["cvr"]


def test_reprocessing_creates_nothing_twice_and_keeps_a_decision(app):
    org, other = App(8, "again"), App(9, "again2")
    deliver(app, mail(org, [form_att(db.fill_form(org.typed))], on(10)), complete(org, day=11),
            complete(other, day=12))
    before = cases(app)
    with transaction(app.context.factory) as s:
        repo.get_case(s, "PSV-2025-0002").status = "bevilget"
    reprocess(app.context, [])
    reprocess(app.context, [])
    after = cases(app)
    assert [c[:2] + c[3:] for c in after] == [c[:2] + c[3:] for c in before]
    assert after[1][2] == "bevilget"
    with app.context.factory() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 3


def _report_files(org):
    return [(FILENAMES[p], part_pdf(p, org)) for p in PARTS]


def test_a_report_joins_the_granted_application_of_its_organisation(app):
    org = App(10, "grantee")
    deliver(app, complete(org))
    with transaction(app.context.factory) as s:
        s.scalars(select(Case)).one().status = "bevilget"
    import datetime as dt

    when = dt.datetime(2028, 1, 20, 10, 0, tzinfo=dt.UTC)
    deliver(app, report_mail(org, _report_files(org), when, sender="revisor@revisor.dk"))
    with app.context.factory() as s:
        report = s.scalars(select(Case).where(Case.kind == "report")).one()
        parent = s.get(Case, report.parent_pk)
        assert parent.case_id == "PSV-2025-0001"
        assert report.status == "komplet" and report.cvr == org.want["cvr"]
        assert "report on:    PSV-2025-0001" in case_detail(s, report, app.pool)


def test_a_report_from_an_unknown_organisation_goes_to_triage_with_a_reason(app):
    import datetime as dt

    stranger = App(11, "stranger")
    deliver(app, report_mail(stranger, _report_files(stranger), dt.datetime(2028, 1, 20, tzinfo=dt.UTC)))
    with app.context.factory() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        msg = s.scalars(select(RawMessage)).one()
        assert msg.outcome == "triage"
        assert "no granted application" in msg.reason


def test_missing_report_parts_sent_in_a_new_mail_complete_the_same_report(app):
    import datetime as dt

    org = App(12, "parts")
    deliver(app, complete(org))
    with transaction(app.context.factory) as s:
        s.scalars(select(Case)).one().status = "bevilget"
    files = _report_files(org)
    when = dt.datetime(2028, 1, 20, 10, 0, tzinfo=dt.UTC)
    deliver(app, report_mail(org, files[:3], when))
    assert [c[1:] for c in cases(app)] == [("application", "bevilget", 1), ("report", "mangler", 1)]
    deliver(app, report_mail(org, files[3:], when + dt.timedelta(days=2)))
    assert [c[1:] for c in cases(app)] == [("application", "bevilget", 1), ("report", "komplet", 2)]


def test_a_reply_with_attachments_to_a_decided_case_is_only_a_followup(app):
    org = App(13, "decided")
    first = complete(org)
    deliver(app, first)
    with transaction(app.context.factory) as s:
        s.scalars(select(Case)).one().status = "bevilget"
    reply = mail(org, [form_att(db.scan_pdf())], on(25), subject="SV: Ansøgning – Pulje til sociale viceværter",
                 headers={"In-Reply-To": first.message_id})
    deliver(app, reply)
    assert cases(app) == [("PSV-2025-0001", "application", "bevilget", 1)]
    with app.context.factory() as s:
        assert "followup" in [e.kind for e in s.scalars(select(Case)).one().events]


def _granted(app, org):
    deliver(app, complete(org))
    with transaction(app.context.factory) as s:
        repo.get_case(s, "PSV-2025-0001").status = "bevilget"


def test_a_report_without_cvr_from_a_public_mail_service_is_found_by_the_organisation_name(app):
    import datetime as dt

    org = App(14, "gmailer")
    org.sender = "aeroehoej.kontor@gmail.com"  # the application came from a public address too
    _granted(app, org)
    files = [(FILENAMES[p], part_pdf(p, org, cvr=False)) for p in PARTS]
    when = dt.datetime(2028, 1, 20, 10, 0, tzinfo=dt.UTC)
    # another gmail user: the shared domain says nothing, and the name is not there
    deliver(app, report_mail(org, files, when, sender="someone.else@gmail.com"))
    assert [c[1] for c in cases(app)] == ["application"]
    # the organisation's name in the subject ties it to its grant
    deliver(app, report_mail(org, files, when, sender="bestyrelsen@gmail.com",
                             subject="Afrapportering pulje til sociale viceværter – Boligselskabet Ærøhøj"))
    assert [c[1:3] for c in cases(app)] == [("application", "bevilget"), ("report", "komplet")]


def test_cases_show_on_the_command_line_tells_values_sources_and_what_to_fix(app, workdir, capsys):
    from intake.commands.cli import main

    org = App(15, "cli")
    broken = dict(org.typed, cvr=org.want["cvr"][:7] + str((int(org.want["cvr"][7]) + 1) % 10))
    deliver(app, mail(org, [form_att(db.fill_form(broken)), budget_att(db.budget_xlsx(one_fte_budget()))],
                      on(20)))
    assert main(["--config", str(workdir / "settings.toml"), "cases", "show", "psv-2025-0001"]) == 0
    out = capsys.readouterr().out
    assert "status: mangler" in out
    assert "org_name: Boligselskabet Ærøhøj   [PDF field 'org_name']" in out
    assert "cvr_check_digit [cvr]" in out and "virk.dk" in out
    assert "amount computed from Budget!B5*C5*D5" in out
