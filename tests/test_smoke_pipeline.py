"""The main job on the embedded default: Maildir in, cases out, nothing twice."""

from __future__ import annotations

from sqlalchemy import func, select

from intake.documents.samples import demo_mail, write_maildir
from intake.service import poll_once
from store.models import Case, RawMessage
from store.words import MessageState


def test_demo_mail_becomes_cases_triage_and_ignored(app, workdir):
    write_maildir(workdir / "mail", demo_mail())
    report = poll_once(app)
    assert report.processed == {"case": 3, "triage": 1, "ignored": 2}
    with app.context.factory() as s:
        cases = list(s.scalars(select(Case).order_by(Case.id)))
        assert [c.case_id for c in cases] == ["PSV-2025-0001", "PSV-2025-0002", "PSV-2025-0003"]
        assert [c.kind for c in cases] == ["application"] * 3
        assert [c.status for c in cases] == ["komplet", "mangler", "for sent"]
        first = cases[0]
        assert first.sender == "mette@boligselskabet-nord.dk"
        assert (first.org_name, first.cvr, first.municipality) == ("Boligselskabet Nord", "34567891", "Aalborg")
        atts = first.submissions[0].attachments
        assert [(a.filename, a.detected_type) for a in atts] == [
            ("Ansøgningsskema.pdf", "pdf"), ("Budget.xlsx", "xlsx")]
        assert len(atts[0].sha256) == 64 and atts[0].size > 100
        codes = sorted(p["code"] for p in cases[1].submissions[0].problems)
        assert codes == ["budget_missing", "cvr_check_digit", "partners_no_municipality"]


def test_second_poll_stores_and_routes_nothing_again(app, workdir):
    write_maildir(workdir / "mail", demo_mail())
    poll_once(app)
    again = poll_once(app)
    assert sum(again.processed.values()) == 0
    with app.context.factory() as s:
        assert s.scalar(select(func.count()).select_from(RawMessage)) == 6
        assert s.scalar(select(func.count()).select_from(Case)) == 3
        states = set(s.scalars(select(RawMessage.state)))
        assert states == {MessageState.PROCESSED}
