"""The migrations make exactly the schema the models describe (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from store import db
from store.models import Base


def test_migrated_schema_matches_the_models(db_url):
    engine = db.make_engine(db_url)
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


@pytest.mark.only_on("postgresql")
def test_raw_mail_is_not_compressed_with_the_slow_pglz_on_postgresql(db_url):
    """Storing mail spent most of its time in pglz (bench/RESULTS.md): it is kept uncompressed."""
    engine = db.make_engine(db_url)
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            storage = conn.execute(text(
                "SELECT attstorage FROM pg_attribute "
                "WHERE attrelid = 'raw_message'::regclass AND attname = 'raw'")).scalar_one()
    finally:
        engine.dispose()
    assert storage == "e"  # EXTERNAL: out of line, uncompressed
