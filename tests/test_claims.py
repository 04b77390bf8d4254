"""Issues #9 and #10: messages are claimed before work, and the attempt is counted then.

* a claimed message is not claimed again until its lease runs out (both databases);
* on PostgreSQL two sessions claiming one message at the same moment never both get it
  (``FOR UPDATE SKIP LOCKED``);
* a database blip while a message is processed (PostgreSQL: the worker's backend terminated
  with ``pg_terminate_backend`` mid-transaction) counts no attempt: three blips in a row do not
  quarantine a good mail, which is processed once the database answers.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import DB_KIND, PG_URL
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from intake.cases.pipeline import process_pending
from intake.documents.samples import make_mail
from intake.errors import TemporaryFailure
from store import repository as repo
from store.db import transaction
from store.models import Case, RawMessage
from store.words import MessageState

APPLICATION = "Ansøgning – Pulje til sociale viceværter"
T0 = dt.datetime(2025, 7, 20, 10, 0, tzinfo=dt.UTC)


def _store(app, raw: bytes, uid: str = "1") -> int:
    with transaction(app.context.factory) as s:
        msg, _ = repo.store_raw(s, repo.Fetched("acct", "INBOX", 1, uid, T0, raw), T0)
        return msg.id


def test_a_claimed_message_is_not_claimed_again_until_its_lease_runs_out(app):
    pk = _store(app, make_mail(APPLICATION))
    lease = dt.timedelta(seconds=300)
    with transaction(app.context.factory) as s:
        assert repo.claim_message(s, pk, T0, T0 + lease, "worker-a") is not None
    with transaction(app.context.factory) as s:
        assert repo.claim_message(s, pk, T0 + dt.timedelta(seconds=299), T0 + 2 * lease, "worker-b") is None
        assert repo.pending_message_ids(s, T0 + dt.timedelta(seconds=299)) == []
    with transaction(app.context.factory) as s:  # worker a died: its claim ran out
        assert repo.pending_message_ids(s, T0 + dt.timedelta(seconds=301)) == [pk]
        msg = repo.claim_message(s, pk, T0 + dt.timedelta(seconds=301), T0 + 2 * lease, "worker-b")
        assert msg is not None and (msg.attempts, msg.claim_token) == (2, "worker-b")
    with transaction(app.context.factory) as s:  # a's late result is refused; b's claim stays
        assert repo.release_claim(s, pk, "worker-a") is False
        assert repo.release_claim(s, pk, "worker-b", give_back=True) is True
        assert (s.get_one(RawMessage, pk).attempts, s.get_one(RawMessage, pk).claimed_until) == (1, None)


def test_messages_retried_after_a_crash_come_after_the_untried_ones(app):
    crashed = _store(app, make_mail(APPLICATION, body="først"), uid="1")
    fresh = _store(app, make_mail(APPLICATION, body="senere"), uid="2")
    with transaction(app.context.factory) as s:
        s.get_one(RawMessage, crashed).attempts = 1  # an earlier worker died reading it
    with app.context.factory() as s:
        assert repo.pending_message_ids(s, T0) == [fresh, crashed]


def test_a_reply_to_a_mail_another_worker_holds_waits_for_it_and_joins_its_case(app):
    from faultmail import reply_to

    application = make_mail(APPLICATION, body="Hermed vores ansøgning.")
    first = _store(app, application, uid="1")
    reply = _store(app, reply_to(application, 1), uid="2")
    now = dt.datetime.now(dt.UTC)
    with transaction(app.context.factory) as s:  # another worker has the application, uncommitted
        assert repo.claim_message(s, first, now, now + dt.timedelta(seconds=300), "worker-a") is not None

    done = process_pending(app.context)
    assert done == {"waiting": 1}  # the held application is not even in this worker's queue
    with app.context.factory() as s:
        waiting = s.get_one(RawMessage, reply)
        assert (waiting.state, waiting.attempts, waiting.case_pk) == (MessageState.STORED, 0, None)

    with transaction(app.context.factory) as s:  # that worker died: its claim is given up
        assert repo.release_claim(s, first, "worker-a", give_back=True)
    process_pending(app.context)
    with app.context.factory() as s:
        (case,) = s.scalars(select(Case)).all()
        answered = s.get_one(RawMessage, reply)
        assert (answered.state, answered.outcome, answered.case_pk) == (MessageState.PROCESSED, "followup", case.id)
        assert answered.attempts == 1


if DB_KIND == "postgresql":  # the races and the blips need PostgreSQL's row locks and backends

    def test_two_sessions_claiming_one_message_at_once_never_both_get_it(app):
        pk = _store(app, make_mail(APPLICATION))
        until = T0 + dt.timedelta(seconds=300)
        engine = app.engine
        with Session(engine) as a, Session(engine) as b:
            first = repo.claim_message(a, pk, T0, until, "worker-a")  # a holds the row, not committed
            second = repo.claim_message(b, pk, T0, until, "worker-b")  # skipped, not waited for
            assert first is not None and second is None
            a.commit()
            b.rollback()
            assert repo.claim_message(b, pk, T0, until, "worker-b") is None  # a's lease holds
            b.rollback()
        with app.context.factory() as s:
            msg = s.get_one(RawMessage, pk)
            assert (msg.attempts, msg.claim_token) == (1, "worker-a")

    def test_database_blips_while_processing_burn_no_attempt(app):
        pk = _store(app, make_mail(APPLICATION))
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        blips = []

        def blip(session, change):  # the worker's own backend dies mid-transaction
            if len(blips) < 3:
                backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
                with admin.connect() as conn:
                    conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
                blips.append(backend)

        app.context.hooks.insert(0, blip)
        try:
            for n in (1, 2, 3):
                with pytest.raises(TemporaryFailure, match="database unreachable"):
                    process_pending(app.context)
                assert len(blips) == n
                with app.context.factory() as s:
                    msg = s.get_one(RawMessage, pk)
                    assert (msg.state, msg.attempts, msg.claimed_until) == (MessageState.STORED, 0, None)
            assert process_pending(app.context) == {"case": 1}
        finally:
            admin.dispose()
        with app.context.factory() as s:
            msg = s.get_one(RawMessage, pk)
            assert (msg.state, msg.attempts) == (MessageState.PROCESSED, 1)
            assert len(list(s.scalars(select(Case)))) == 1
