"""``db copy --to URL``: moving a worker's SQLite database to PostgreSQL (or to another SQLite file).

The source is always a SQLite file, as an operator who started with the embedded
default has it; the target is the test database (PostgreSQL on that pass).
"""

from __future__ import annotations

import datetime as dt

from conftest import write_settings
from notify_helpers import application, deliver
from sqlalchemy import select

from intake.app import build_app
from intake.commands.cli import main
from intake.documents.samples import demo_mail, write_maildir
from intake.settings import load_settings
from store.models import Case, CaseEvent, OutboxMessage, RawMessage, Submission


def snapshot(app) -> dict:
    """What a person would compare: cases, their history, the raw mail's bytes, the outbox."""
    with app.context.factory() as s:
        return {
            "cases": [(c.case_id, c.kind, c.status, c.org_name, c.received_at) for c in s.scalars(
                select(Case).order_by(Case.id))],
            "fields": [sub.fields for sub in s.scalars(select(Submission).order_by(Submission.id))],
            "events": s.execute(select(CaseEvent.kind, CaseEvent.detail).order_by(CaseEvent.id)).all(),
            "raw": [(m.id, m.sha256, bytes(m.raw)) for m in s.scalars(select(RawMessage).order_by(RawMessage.id))],
            "outbox": [(o.dedupe_key, o.state, o.message_id) for o in s.scalars(
                select(OutboxMessage).order_by(OutboxMessage.id))],
        }


def test_copy_moves_everything_and_the_new_database_goes_on(workdir, db_url, capsys):
    old_dir = workdir / "old"
    old_dir.mkdir()
    old_settings = write_settings(old_dir, f"sqlite:///{old_dir}/pulje-intake.db",
                                  "[outbox]\nmax_receipt_age_hours = 1000000\n")  # receipts for old mail
    write_maildir(old_dir / "mail", demo_mail())
    assert main(["--config", str(old_settings), "-q", "poll"]) == 0
    old = build_app(load_settings(old_settings))
    before = snapshot(old)
    assert len(before["cases"]) == 3 and before["outbox"]

    capsys.readouterr()
    assert main(["--config", str(old_settings), "-q", "db", "copy", "--to", db_url]) == 0
    out = capsys.readouterr().out
    assert "raw_message: 6 row(s)" in out and "case: 3 row(s)" in out
    assert "point [database] url at it" in out

    # the operator points the settings at the new database: everything is there ...
    new_settings = write_settings(workdir, db_url)
    new = build_app(load_settings(new_settings))
    assert snapshot(new) == before
    # ... and it goes on: the next case and message numbers follow the copied ones
    deliver(workdir, application("late-comer", "Org X <kontakt@orgx.dk>", dt.datetime.now(dt.UTC)))
    assert main(["--config", str(new_settings), "-q", "poll"]) == 0
    with new.context.factory() as s:
        assert s.scalars(select(Case.case_id).order_by(Case.id)).all()[-1] == "PSV-2025-0004"
        assert max(s.scalars(select(RawMessage.id))) == 7

    # a database that holds rows is never written into
    capsys.readouterr()
    assert main(["--config", str(old_settings), "-q", "db", "copy", "--to", db_url]) == 1
    assert "is not empty (table" in capsys.readouterr().err
    old.engine.dispose()
    new.engine.dispose()


def test_copy_refuses_a_password_in_the_url_and_the_same_database(workdir, db_url, capsys):
    settings = write_settings(workdir, db_url)
    assert main(["--config", str(settings), "-q", "db", "copy", "--to",
                 "postgresql+psycopg://pulje:geheim@127.0.0.1/x"]) == 1
    assert "put no password in the URL; name a variable with --to-password-env" in capsys.readouterr().err
    assert main(["--config", str(settings), "-q", "db", "copy", "--to", db_url]) == 1
    assert "names the database the worker uses now" in capsys.readouterr().err
