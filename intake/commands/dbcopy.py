"""``db copy --to URL``: the worker's whole database into a new, empty one (SQLite → PostgreSQL).

Stop the worker first (``systemctl stop pulje-intake``): the copy is a snapshot,
and mail fetched meanwhile would be in the old database only. The new database
is migrated to the code's revision, must hold no rows, and is written in one
transaction, so a failed copy leaves it empty. Row counts are compared at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from intake import progress
from intake.app import App
from intake.errors import ConfigError, TemporaryFailure
from store import copy, db


def _target_url(url: str, password_env: str | None) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"db copy --to: not a database URL: {url!r}") from None
    if parsed.password is not None:
        raise ConfigError("db copy --to: put no password in the URL; name a variable with --to-password-env")
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise ConfigError(f"db copy: environment variable {password_env} is not set")
        parsed = parsed.set(password=password)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


def copy_command(app: App, url: str, password_env: str | None) -> int:
    """Copy everything into the database at ``url``; print what was copied."""
    shown = make_url(url).render_as_string(hide_password=True)
    head = db.head_revision()
    if db.current_revision(app.engine) != head:
        raise ConfigError(f"the database is not at revision {head}: run 'pulje-intake db upgrade' first")
    target = db.make_engine(_target_url(url, password_env))
    try:
        if target.url.render_as_string(hide_password=True) == app.engine.url.render_as_string(hide_password=True):
            raise ConfigError("db copy --to names the database the worker uses now")
        db.upgrade(target)
        with target.connect() as conn:
            full = copy.first_nonempty(conn)
        if full is not None:
            raise ConfigError(f"{shown} is not empty (table {full} holds rows): copy only into a new database")
        counts: dict[str, int] = {}
        with app.engine.connect() as source, target.begin() as dest:
            for table in copy.tables():
                total = copy.row_count(source, table)
                with progress.track(f"copying {table.name}", total, unit="row") as bar:
                    for n in copy.copy_table(source, dest, table):
                        bar.advance(n)
                counts[table.name] = total
            copy.reset_sequences(dest)
        with target.connect() as conn:
            wrong = [t.name for t in copy.tables() if copy.row_count(conn, t) != counts[t.name]]
    except OperationalError as exc:
        raise TemporaryFailure(f"{shown}: {str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        target.dispose()
    if wrong:
        raise ConfigError(f"copied row counts differ in {', '.join(wrong)}; do not switch to {shown}")
    for name, n in counts.items():
        print(f"{name}: {n} row(s)")
    print(f"copied {sum(counts.values())} rows into {shown} (revision {head}); "
          "point [database] url at it and start the worker")
    return 0
