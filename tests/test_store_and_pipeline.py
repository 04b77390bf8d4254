"""Raw store dedupe, the message state machine, reprocessing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from intake.cases.pipeline import process_pending
from intake.cases.reprocess import reprocess
from intake.documents.samples import make_mail
from store import repository as repo
from store.db import transaction
from store.models import Case, RawMessage
from store.words import MessageState

T0 = dt.datetime(2025, 7, 20, 8, 0, tzinfo=dt.UTC)
APPLICATION = "Ansøgning – Pulje til sociale viceværter"


def _store(app, raw: bytes, folder="INBOX", uid="1", uidvalidity=1):
    with transaction(app.context.factory) as s:
        row, created = repo.store_raw(
            s, repo.Fetched("imap:test", folder, uidvalidity, uid, T0, raw), app.context.now()
        )
        return row.id, created


def test_same_mail_in_two_folders_with_other_trace_headers_is_stored_once(app):
    mail = make_mail(APPLICATION)
    a = b"Delivered-To: pulje@bl.dk\r\nReceived: from mx1 by imap1\r\n" + mail
    b = b"Delivered-To: arkiv@bl.dk\r\nReceived: from mx2 by imap2\r\n" + mail.replace(b"\r\n", b"\n")
    first = _store(app, a, folder="INBOX")
    second = _store(app, b, folder="Arkiv")
    assert first[1] is True and second == (first[0], False)
    process_pending(app.context)
    with app.context.factory() as s:
        assert s.scalar(select(func.count()).select_from(RawMessage)) == 1
        assert s.scalar(select(func.count()).select_from(Case)) == 1
        assert len(s.get(RawMessage, first[0]).locations) == 2


def test_mails_that_reuse_a_message_id_with_other_content_are_both_kept(app):
    one = make_mail(APPLICATION, body="Første udgave")
    other = one.replace("Første udgave".encode(), b"Anden udgave")
    assert _store(app, one, uid="1")[1] and _store(app, other, uid="2")[1]


def test_same_coordinates_after_uidvalidity_change_are_recognised_by_content(app):
    raw = make_mail(APPLICATION)
    first, _ = _store(app, raw, uid="5", uidvalidity=1)
    again, created = _store(app, raw, uid="1", uidvalidity=2)
    assert (again, created) == (first, False)


class Boom(RuntimeError):
    pass


def test_failing_message_is_retried_then_quarantined_and_others_go_on(app):
    calls = []

    def broken_hook(session, change):  # a bug downstream of routing, e.g. in a template
        calls.append(change.case.case_id)
        raise Boom("template exploded")

    app.context.hooks.append(broken_hook)
    _store(app, make_mail(APPLICATION), uid="1")
    _store(app, make_mail("Spørgsmål om ansøgning"), uid="2")
    assert process_pending(app.context) == {"failed": 1, "triage": 1}
    assert process_pending(app.context) == {"failed": 1}
    assert process_pending(app.context) == {"quarantined": 1}
    assert process_pending(app.context) == {}
    with app.context.factory() as s:
        bad = s.scalar(select(RawMessage).where(RawMessage.state == MessageState.QUARANTINED))
        assert bad.attempts == 3 and "template exploded" in bad.last_error
        assert "quarantined after 3" in bad.reason
        # the failed attempts left no half-made case behind
        assert s.scalar(select(func.count()).select_from(Case)) == 0
    # once the bug is fixed, reprocess brings it back
    app.context.hooks.remove(broken_hook)
    assert reprocess(app.context, [str(bad.id)]) == {"case": 1}


def test_reprocess_everything_keeps_cases_and_ids(app):
    senders = ["Mette <mette@nord.dk>", "Anne <anne@vestbo.dk>", "Lars <lars@kirkebo.dk>"]
    for i, subject in enumerate([APPLICATION, APPLICATION + " – Vest", "Spørgsmål"]):
        _store(app, make_mail(subject, sender=senders[i]), uid=str(i))
    process_pending(app.context)
    with app.context.factory() as s:
        before = [(c.case_id, c.kind) for c in s.scalars(select(Case).order_by(Case.id))]
    result = reprocess(app.context, [])
    assert result == {"case": 2, "triage": 1}
    with app.context.factory() as s:
        after = [(c.case_id, c.kind) for c in s.scalars(select(Case).order_by(Case.id))]
        assert after == before
        case = repo.get_case(s, "psv-2025-0001")
        assert len(case.submissions) == 1
        assert [e.kind for e in case.events] == ["created", "reprocessed"]


def test_reply_with_case_tag_joins_the_case(app):
    _store(app, make_mail(APPLICATION), uid="1")
    process_pending(app.context)
    _store(app, make_mail("SV: [PSV-2025-0001] Kvittering", body="Tak!"), uid="2")
    assert process_pending(app.context) == {"followup": 1}
    with app.context.factory() as s:
        case = repo.get_case(s, "PSV-2025-0001")
        assert len(case.messages) == 2
        assert case.events[-1].kind == "followup"
