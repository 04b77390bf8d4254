"""Several workers: two `run`s on one PostgreSQL database share 500 mails without an error or a
double; on SQLite a second worker is refused with one line (issue #10)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from conftest import write_settings
from dovecot import imap_source_toml, to_crlf
from faultmail import mixed, reply_to
from worker_harness import LEAN, POLITE_ENOUGH, Db, Worker, wait_for

pytest_plugins = ["imap_fixtures", "smtp_sink"]



def _append_all(dovecot, mails: list[bytes]) -> None:
    now = dt.datetime.now(dt.UTC)  # recent: receipts are due
    with dovecot.client() as c:
        for raw in mails:
            c.append("INBOX", raw, msg_time=now)


@pytest.mark.only_on("postgresql")
def test_two_workers_started_together_on_an_empty_database_share_the_work(workdir, db_url, dovecot, smtp_sink):
    first, applications = mixed(applications=100, full=0, replies=0, questions=330, real_world=20)
    # replies come once their applications are in (as after a receipt): a reply processed by one
    # worker while the other still holds its uncommitted application would route on its own
    replies = [reply_to(m, i) for i, m in enumerate(m for m in first if b"@boligselskab-" in m[:300])][:50]
    assert len(first) + len(replies) == 500
    _append_all(dovecot, first)
    extra = smtp_sink.settings_toml().replace("[outbox.smtp]", POLITE_ENOUGH + "[outbox.smtp]")
    settings = write_settings(workdir, db_url, extra + LEAN,
                              sources=imap_source_toml(dovecot, poll_interval_seconds=0.5, fetch_batch=25))
    workers = [Worker(settings, workdir / f"worker-{n}.log") for n in (1, 2)]
    db = Db(db_url)
    began = time.monotonic()
    try:
        for w in workers:  # together, on a database without a single table
            w.start()

        wait_for(lambda: db.messages() == 450 and db.unfinished() == 0, "the first 450 mails processed",
                 limit=600, workers=workers, dovecot_log=dovecot.log)
        _append_all(dovecot, [to_crlf(r) for r in replies])

        def done() -> bool:
            return (db.messages() == 500 and db.unfinished() == 0
                    and db.outbox_states().get("pending", 0) == 0
                    and len(smtp_sink.messages) >= len(db.outbox_message_ids("sent")) > 0
                    and all("$PuljeIntake" in f for f in dovecot.flags().values()))

        wait_for(done, "500 mails stored, processed, acknowledged and answered", limit=600,
                 workers=workers, dovecot_log=dovecot.log)
        took = time.monotonic() - began
        codes = [w.stop() for w in workers]
        logs = [w.log() for w in workers]
        stored = [log.count(" stored as message ") for log in logs]
        processed = [log.count(" → ") for log in logs]
        sent = [log.count(" sent: ") for log in logs]
        senders = db.case_senders()
        delivered = smtp_sink.by_message_id()
        print(f"\ntwo workers on PostgreSQL: 500 mails in {took:.0f} s; stored {stored}, processed {processed}, "
              f"sent {sent} (worker 1, worker 2); cases {len(senders)}, receipts {len(delivered)}, "
              f"problem lines {[len(w.problem_lines()) for w in workers]}")
        assert codes == [0, 0]
        for w in workers:
            assert w.problem_lines() == [] and "Traceback" not in w.log(), "\n".join(w.problem_lines())
        assert sum(stored) == db.messages() == 500  # every mail once
        assert sum(processed) == 500
        assert len(senders) == len(set(senders)) == applications  # every case once
        assert set(delivered.values()) == {1} and set(delivered) == set(db.outbox_message_ids("sent"))
        assert sum(sent) == len(delivered) == applications  # every receipt once
        assert all(n > 0 for n in processed), "one worker did nothing"
    finally:
        for w in workers:
            w.kill()
        db.close()


@pytest.mark.only_on("sqlite")
def test_a_second_worker_on_sqlite_is_refused_while_the_first_runs(workdir, db_url):
    settings = write_settings(workdir, db_url, LEAN)
    first = Worker(settings, workdir / "first.log").start()
    second = Worker(settings, workdir / "second.log", command="poll")
    try:
        first.wait_running()
        second.start()
        assert second.wait(timeout=120) == 75
        lines = [line for line in second.log().splitlines() if not line.startswith("===")]
        assert lines == [f"pulje-intake: another pulje-intake worker (pid {first.proc.pid}) uses this SQLite "
                         f"database ({workdir}/intake.db); on SQLite run one worker, or use PostgreSQL for several"]
        assert first.alive
        assert first.stop() == 0
    finally:
        first.kill()
        second.kill()


@pytest.mark.only_on("postgresql")
def test_a_folder_another_worker_is_fetching_is_skipped_for_the_pass(workdir, db_url, dovecot, make_app):
    from dovecot import imap_source_toml as source_toml

    from intake.sources.fetching import fetch_all
    from store import locks

    dovecot.append(mixed(applications=1, full=0, replies=0, questions=0, real_world=0)[0][0],
                   dt.datetime.now(dt.UTC))
    app = make_app(sources=source_toml(dovecot))
    (source,) = app.make_sources()
    db = Db(db_url)
    try:
        with locks.folder_lock(app.engine, source.account, "INBOX") as mine:  # the other worker
            assert mine
            stats = fetch_all(source, app.context.factory, app.context.now)
            assert (stats.seen, db.messages()) == (0, 0)
        stats = fetch_all(source, app.context.factory, app.context.now)  # the other one is done
        assert (stats.seen, stats.stored, stats.acked, db.messages()) == (1, 1, 1, 1)
    finally:
        source.close()
        db.close()


def test_run_sends_a_receipt_right_after_processing_not_on_the_timer(workdir, db_url):
    """The drain timer is an hour here: the receipt can only come from the processing pass."""
    from notify_helpers import application

    from intake.documents.samples import write_maildir

    sources = '[[sources]]\ntype = "maildir"\nname = "local"\npath = "mail"\npoll_interval_seconds = 0.5\n'
    settings = write_settings(workdir, db_url, f'[outbox]\nmode = "files"\ndir = "{workdir}/outbox"\n'
                              "[schedule]\ndrain_seconds = 3600\nprocess_seconds = 3600\n", sources=sources)
    for sub in ("tmp", "new", "cur"):
        (workdir / "mail" / sub).mkdir(parents=True, exist_ok=True)
    worker = Worker(settings, workdir / "worker.log").start()
    try:
        worker.wait_running()
        write_maildir(workdir / "mail", [application("nord", "Mette Hansen <mette@boligselskabet-nord.dk>",
                                                     dt.datetime.now(dt.UTC))])
        wait_for(lambda: len(list((workdir / "outbox").glob("*-receipt-*.eml"))) == 1,
                 "the receipt written", limit=60, workers=[worker])
        assert worker.stop() == 0
    finally:
        worker.kill()
