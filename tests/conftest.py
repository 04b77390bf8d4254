"""Shared fixtures: a fresh database per test (SQLite or the machine's PostgreSQL),
settings files, and a ready application.

Choose the database with PULJE_TEST_DB=sqlite (default) or PULJE_TEST_DB=postgresql;
PULJE_TEST_PG_URL overrides the PostgreSQL server (default: 127.0.0.1:5432, user
postgres, database test). Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytest_plugins = ["no_skips", "pytester"]

PG_URL = os.environ.get("PULJE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_KIND = os.environ.get("PULJE_TEST_DB", "sqlite")


def pytest_report_header(config):
    return f"pulje-intake test database: {DB_KIND}"


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.only_on("postgresql")``: the test runs once, in that database's pass.

    Deselected (not skipped: a skip fails CI) in the other pass.
    """
    keep, drop = [], []
    for item in items:
        mark = item.get_closest_marker("only_on")
        (drop if mark is not None and DB_KIND not in mark.args else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def workdir():
    """A temporary folder readable by other users (Dovecot runs as 'dovecot'), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="pulje-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def db_url(workdir):
    """A database URL nobody else uses: a new SQLite file or a new PostgreSQL schema."""
    if DB_KIND == "sqlite":
        yield f"sqlite:///{workdir}/intake.db"
        return
    if DB_KIND != "postgresql":
        raise RuntimeError(f"PULJE_TEST_DB must be sqlite or postgresql, not {DB_KIND!r}")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def write_settings(workdir: Path, db_url: str, extra: str = "", sources: str | None = None) -> Path:
    """Write a settings file for tests; by default one Maildir source at workdir/mail."""
    if sources is None:
        sources = '[[sources]]\ntype = "maildir"\nname = "local"\npath = "mail"\n'
    (workdir / "mail").mkdir(exist_ok=True)
    path = workdir / "settings.toml"
    path.write_text(
        f'pool = "sociale-viceværter-2025"\n\n[database]\nurl = "{db_url}"\n\n{sources}\n{extra}\n',
        encoding="utf-8",
    )
    return path


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += dt.timedelta(**kwargs)


@pytest.fixture
def clock():
    """A fixed clock at 2025-07-25 12:00 UTC (before the application deadline)."""
    return Clock(dt.datetime(2025, 7, 25, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
def make_app(workdir, db_url, clock):
    """Build an App from settings (Maildir source at workdir/mail unless told otherwise)."""
    from intake.app import build_app
    from intake.settings import load_settings

    apps = []

    def _make(extra: str = "", sources: str | None = None):
        path = write_settings(workdir, db_url, extra, sources)
        app = build_app(load_settings(path), now=clock)
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.engine.dispose()


@pytest.fixture
def app(make_app):
    """An App on a fresh database with one Maildir source at workdir/mail."""
    return make_app()
