"""The digest as the morning mail that points into the web page: today's work first, bounded
lists with links, decided cases not among the problems, under 100 KB whatever the volume."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import casefactory as cf
from sqlalchemy import select
from test_digest import NOW, _parse, _text_section

from intake.outbox import sender_identity
from notifications import digest
from store import work
from store.models import OutboxMessage
from store.words import Outcome, Resolution

UTC = dt.UTC
WEB = "https://pulje.bl.dk"


def _seed(s):
    granted = cf.make_case(s, "PSV-2025-0001", status="bevilget", decision="bevilget",
                           granted_amount="900000.00",
                           problems=[cf.problem("hours_below_norm", "salary_2026.hours",
                                                "Timetallet er under en fuld stilling.", "warning")])
    cf.make_case(s, "PSV-2025-0002", status="komplet", received=dt.datetime(2025, 7, 21, 9, tzinfo=UTC),
                 problems=[cf.problem("field_needs_review", "hire_type",
                                      "Feltet \"Nyansættelse / forstærkning\" kan ikke aflæses sikkert.",
                                      "warning")])
    question = cf.raw_message(s, received=dt.datetime(2025, 7, 23, 10, tzinfo=UTC), subject="SV: [PSV-2025-0001]",
                              outcome=Outcome.FOLLOWUP, reason="case tag PSV-2025-0001 in the subject",
                              sender="jens@bf-syd.dk", case=granted)
    triage = cf.raw_message(s, received=dt.datetime(2025, 7, 22, 7, tzinfo=UTC), subject="Spørgsmål om puljen",
                            outcome=Outcome.TRIAGE, reason="subject matches no kind of mail in the pool")
    return question.id, triage.id


def test_todays_work_comes_first_and_every_item_links_to_its_page(app):
    with app.context.factory() as s, s.begin():
        question, triage = _seed(s)
    with app.context.factory() as s:
        d = digest.build(s, app.pool, NOW, WEB)
    page = _parse(d.html)
    # what needs a person comes before the figures
    assert d.html.index("Venter på en person (3)") < d.html.index("Sager pr. status")
    assert _text_section(d.text, "VENTER PÅ EN PERSON") == [
        "- post til manuel behandling: 1", "- svar fra ansøgere: 1", "- værdier der skal kontrolleres: 1",
        "- post i karantæne: 0", "- mail der ikke kunne sendes: 0"]
    counts = {r["attrs"]["data-kind"]: r["cells"][1] for r in page.sections["work"]}
    assert counts == {"triage": "1", "reply": "1", "review": "1", "quarantine": "0", "unsent": "0"}
    # each item links to where it is dealt with
    links = {tag_value for tag, attr, tag_value in page.attrs_seen if tag == "a" and attr == "href"}
    assert f"{WEB}/post/{triage}" in links and f"{WEB}/post/{question}" in links
    assert f"{WEB}/sager/PSV-2025-0002#kontrol" in links  # the value to check
    reply = page.sections["reply"][1]
    assert reply["cells"][1] == ("SV: [PSV-2025-0001]\nSvar: Svar med sagsnummeret i emnet "
                                 "(case tag PSV-2025-0001 in the subject)")
    # the granted case is decided: not among the problems, and its warning asks nobody to check it
    assert [r["attrs"]["data-case"] for r in page.sections["problems"][1:]] == ["PSV-2025-0002"]
    assert [r["attrs"]["data-key"] for r in page.sections["review"][1:]] == [
        f"sub:{r}" for r in _current_submission_ids(app, "PSV-2025-0002")]


def _current_submission_ids(app, case_id):
    from store import repository as repo
    from store.casedata import current_submission

    with app.context.factory() as s:
        return [current_submission(repo.get_case(s, case_id)).id]


def test_a_resolved_item_leaves_the_digest_and_counts_as_done(app, clock):
    with app.context.factory() as s, s.begin():
        question, _ = _seed(s)
    with app.context.factory() as s, s.begin():
        item = work.find_open(s, work.message_key(question))
        work.resolve(s, item, Resolution.ANSWERED, "mette", NOW, note="ringede til Jens")
    with app.context.factory() as s:
        d = digest.build(s, app.pool, NOW + dt.timedelta(hours=1), WEB)
    assert "reply" not in _parse(d.html).sections
    assert "- svar fra ansøgere: 0" in d.text
    assert "1 punkt(er) er klaret af sekretariatet siden sidst." in d.text


def test_after_1000_triage_mails_the_digest_is_under_100_kb_and_lists_the_oldest(make_app, clock):
    app = make_app('[outbox]\nstaff = ["sekretariat@bl.dk"]\n')
    start = dt.datetime(2025, 5, 16, 6, 0, tzinfo=UTC)
    with app.context.factory() as s, s.begin():
        for n in range(1000):
            cf.raw_message(s, received=start + dt.timedelta(minutes=37 * n),
                           subject=f"Vedr. vores boligafdeling nr. {n} og spørgsmål om puljen " + "x" * 120,
                           sender=f"medarbejder.nummer.{n}@en-meget-lang-boligorganisation-{n}.dk",
                           outcome=Outcome.TRIAGE, reason="subject matches no kind of mail in the pool")
        for n in range(60):  # cases with problems and late ones, to fill the other lists too
            cf.make_case(s, f"PSV-2025-{n + 1:04d}", status="mangler",
                         problems=[cf.problem("cvr_check_digit", "cvr", "CVR-nummeret går ikke op. " * 5)])
    clock.now = NOW
    with app.context.factory() as s, s.begin():
        queued = digest.send(s, app.pool, NOW, app.settings.outbox.staff,
                             sender_identity(app.settings, app.pool), web_url=WEB)
        assert queued == ["sekretariat@bl.dk"]
        d = digest.build(s, app.pool, NOW, WEB)
        raw = s.scalar(select(OutboxMessage.raw).where(OutboxMessage.purpose == "digest"))
    assert len(raw) < 100 * 1024, len(raw)  # the whole mail as sent: text and HTML parts
    assert len(d.html.encode()) < 100 * 1024 and len(d.text.encode()) < 100 * 1024
    rows = _parse(d.html).sections["triage"][1:]
    assert [r["cells"][1].split(" og ")[0] for r in rows] == [
        f"Vedr. vores boligafdeling nr. {n}" for n in range(10)]  # the ten oldest, oldest first
    assert "og 990 flere" in d.html and "  og 990 flere" in d.text
    assert "Post til manuel behandling (1000)" in d.html
    assert "og 35 flere" in d.html  # 60 cases with problems, 25 listed
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert "og 990 flere" in sent.get_body(("html",)).get_content()
