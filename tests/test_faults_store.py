"""Storing under faults: a batch is one transaction (SQLite too), a lost insert race is a no-op,
two processes migrating an empty database take turns, a second SQLite worker is refused."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading

import pytest
from conftest import write_settings
from sqlalchemy import func, select

from intake.documents.samples import make_mail
from store import db, locks, rawstore
from store import repository as repo
from store.db import transaction
from store.models import MessageLocation, RawMessage

T0 = dt.datetime(2025, 7, 20, 8, 0, tzinfo=dt.UTC)


class Boom(Exception):
    """Stands for anything going wrong after the first message of a batch."""


def _fetched(uid: str, raw: bytes, folder: str = "INBOX") -> repo.Fetched:
    return repo.Fetched("imap:test", folder, 7, uid, T0, raw)


def _counts(factory) -> tuple[int, int]:
    with factory() as s:
        return (s.scalar(select(func.count()).select_from(RawMessage)),
                s.scalar(select(func.count()).select_from(MessageLocation)))


def test_a_rolled_back_batch_leaves_no_message_without_its_server_position(db_url):
    """The first store takes a savepoint; on SQLite it used to commit on its own (issue #10, 5)."""
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    try:
        with pytest.raises(Boom), transaction(factory) as s:
            repo.store_raw(s, _fetched("1", make_mail("Ansøgning", body="one")), T0)  # a SAVEPOINT inside
            rawstore.store_batch(s, [_fetched("2", make_mail("Spørgsmål", body="two"))], T0)
            raise Boom()
        assert _counts(factory) == (0, 0)
        with transaction(factory) as s:
            repo.store_raw(s, _fetched("1", make_mail("Ansøgning", body="one")), T0)
        assert _counts(factory) == (1, 1)
    finally:
        engine.dispose()


def test_a_batch_is_stored_once_whatever_repeats_in_it_or_before_it(db_url):
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    a, b = make_mail("Ansøgning A", body="a"), make_mail("Ansøgning B", body="b")
    a_elsewhere = b"Delivered-To: arkiv@bl.dk\r\n" + a  # the same mail with another trace header
    try:
        with transaction(factory) as s:
            first = rawstore.store_batch(s, [_fetched("1", a), _fetched("2", a), _fetched("3", b)], T0)
        assert [(r.uid, r.created) for r in first] == [("1", True), ("2", False), ("3", True)]
        assert first[0].message_pk == first[1].message_pk != first[2].message_pk
        with transaction(factory) as s:  # fetched again (a crash before the commit of last_uid)
            again = rawstore.store_batch(s, [_fetched("3", b), _fetched("4", a_elsewhere, "Arkiv")], T0)
        assert [(r.uid, r.created, r.message_pk) for r in again] == [
            ("3", False, first[2].message_pk), ("4", False, first[0].message_pk)]
        assert _counts(factory) == (2, 4)
    finally:
        engine.dispose()


@pytest.mark.only_on("postgresql")
def test_a_race_lost_on_insert_is_a_no_op(db_url):
    """Two workers store the same batch at once: the second waits on the first's rows, then
    finds them; no duplicate-key error (issue #10, 3)."""
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    batch = [_fetched(str(i), make_mail("Ansøgning", body=f"nr {i}")) for i in range(1, 6)]
    results: list[list[rawstore.Stored]] = []
    errors: list[Exception] = []

    def second_worker() -> None:
        try:
            with transaction(factory) as s:
                results.append(rawstore.store_batch(s, batch, T0))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    try:
        with transaction(factory) as s:
            mine = rawstore.store_batch(s, batch, T0)
            other = threading.Thread(target=second_worker)
            other.start()
            other.join(timeout=1)  # it waits on our uncommitted rows (or has not begun yet)
        other.join(timeout=60)
        assert not other.is_alive() and errors == []
        assert [r.created for r in mine] == [True] * 5
        assert [(r.uid, r.message_pk, r.created) for r in results[0]] == [
            (r.uid, r.message_pk, False) for r in mine]
        assert _counts(factory) == (5, 5)
    finally:
        engine.dispose()


def _cli(settings, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PULJE_INTAKE_CONFIG": str(settings)}
    return subprocess.Popen([sys.executable, "-m", "intake.commands.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_processes_migrating_an_empty_database_take_turns(workdir, db_url):
    settings = write_settings(workdir, db_url)
    procs = [_cli(settings, "db", "upgrade") for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    print("\n".join(outputs))
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert not any("Traceback" in out or "rror" in out for out in outputs)
    engine = db.make_engine(db_url)
    try:
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


@pytest.mark.only_on("sqlite")
def test_a_second_worker_on_sqlite_is_refused_with_one_line(workdir, db_url):
    settings = write_settings(workdir, db_url)
    held = locks.worker_lock(db_url)  # stands for a running worker (flock: per open file)
    try:
        proc = _cli(settings, "poll")
        out = proc.communicate(timeout=120)[0]
    finally:
        assert held is not None
        held.close()
    assert proc.returncode == 75
    assert out.strip() == (f"pulje-intake: another pulje-intake worker (pid {os.getpid()}) uses this SQLite "
                           f"database ({workdir}/intake.db); on SQLite run one worker, or use PostgreSQL "
                           "for several")
    proc = _cli(settings, "poll")  # the other one stopped: this one runs
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, out


@pytest.mark.only_on("postgresql")
def test_case_creation_for_one_organisation_waits_for_the_other_worker(db_url):
    """The lock _record_case takes before looking for the organisation's earlier application."""
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    order: list[str] = []

    def other_worker(keys: list[str]) -> None:
        with transaction(factory) as s:
            locks.lock_organisation(s, *keys)
            order.append(f"other has {'+'.join(keys)}")

    try:
        with transaction(factory) as s:
            locks.lock_organisation(s, *locks.organisation_keys("12 34 56 74", "Mette@Nord.dk"))
            same_cvr = threading.Thread(target=other_worker, args=(locks.organisation_keys("12345674", None),))
            same_sender = threading.Thread(target=other_worker,
                                           args=(locks.organisation_keys(None, "mette@nord.dk"),))
            elsewhere = threading.Thread(target=other_worker,
                                         args=(locks.organisation_keys("87654321", "jens@syd.dk"),))
            for t in (same_cvr, same_sender, elsewhere):
                t.start()
            elsewhere.join(timeout=60)
            same_cvr.join(timeout=1)
            order.append("first commits")
        for t in (same_cvr, same_sender):
            t.join(timeout=60)
        assert order[0] == "other has cvr:87654321+sender:jens@syd.dk"
        assert order[1] == "first commits"
        assert sorted(order[2:]) == ["other has cvr:12345674", "other has sender:mette@nord.dk"]
    finally:
        engine.dispose()
