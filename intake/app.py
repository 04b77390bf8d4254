"""Wiring: from settings to a ready database, pool, sources and processing context."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from intake.cases.pipeline import CaseChange, Context
from intake.errors import TemporaryFailure
from intake.pool import Pool, load_pool
from intake.settings import ImapSourceSettings, MaildirSourceSettings, Settings
from intake.sources import Source
from intake.validation import validate
from store import db


def utc_now() -> dt.datetime:
    """The clock at the edge: an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


@dataclass
class App:
    """Everything a command needs, built once from the settings."""

    settings: Settings
    pool: Pool
    engine: Engine
    context: Context

    def make_sources(self) -> list[Source]:
        """Fresh source objects for every configured source."""
        return [make_source(s) for s in self.settings.sources]


def make_source(cfg: MaildirSourceSettings | ImapSourceSettings) -> Source:
    """Build the source object a source's settings describe."""
    if isinstance(cfg, MaildirSourceSettings):
        from intake.sources.maildir import MaildirSource

        return MaildirSource(cfg.name, cfg.path)
    from intake.sources.imap import ImapSource

    return ImapSource(cfg)


def database_url(settings: Settings) -> str:
    """The database URL, with the password from ``[database] password_env/password_file`` if one is named."""
    password = settings.database_password.read("[database]")
    if password is None:
        return settings.database_url
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).set(password=password).render_as_string(hide_password=False)


def build_app(settings: Settings, now: Callable[[], dt.datetime] = utc_now,
              upgrade: bool | None = None) -> App:
    """Load the pool, check the data files against the code (``intake/validation.py``), open the
    database (migrating it if allowed) and wire the context."""
    base = settings.path.resolve().parent if settings.path else None
    pool = load_pool(settings.pool, base)
    validate(settings, pool)
    if settings.database_url.startswith("sqlite:///") and settings.database_url != "sqlite:///:memory:":
        from pathlib import Path

        from store.files import make_private

        path = Path(settings.database_url[len("sqlite:///"):].split("?", 1)[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        make_private(path)  # applicants' data: 0640 before SQLite (and its -wal, -shm) opens it
    engine = db.make_engine(database_url(settings))
    try:
        if settings.auto_upgrade if upgrade is None else upgrade:
            db.upgrade(engine)
    except OperationalError as exc:
        raise TemporaryFailure(f"database unreachable: {str(exc.orig).strip().splitlines()[0]}") from None
    context = Context(settings=settings, pool=pool, factory=db.make_session_factory(engine), now=now)
    for hook in _hooks(context):
        context.hooks.append(hook)
    return App(settings=settings, pool=pool, engine=engine, context=context)


def _hooks(context: Context) -> list[Callable[[Session, CaseChange], None]]:
    """Case-change hooks from the other packages (the outbox plugs in here)."""
    from intake.outbox import make_receipt_hook

    return [make_receipt_hook(context)]
