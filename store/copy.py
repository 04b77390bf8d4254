"""Copying every row of one database into a new one: moving from SQLite to PostgreSQL.

The caller migrates the new database to the same revision first and checks that
it is empty; then every table is copied in the order of its foreign keys
(parents first), each in primary-key order and in batches, through the models'
column types (times stay UTC, JSON stays JSON, raw mail stays bytes). On
PostgreSQL the id sequences are moved past the copied ids afterwards, so the
next case, message or outbox row does not collide with a copied one.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, Table, func, select, text

from store.models import Base


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(Base.metadata.sorted_tables)


def row_count(conn: Connection, table: Table) -> int:
    """Rows in ``table``."""
    return conn.scalar(select(func.count()).select_from(table)) or 0


def first_nonempty(conn: Connection) -> str | None:
    """The first table that holds rows, or None for an empty database."""
    return next((t.name for t in tables() if row_count(conn, t)), None)


def copy_table(source: Connection, target: Connection, table: Table, batch: int = 500) -> Iterator[int]:
    """Copy every row of ``table``; yield the number of rows of each batch written."""
    query = select(table).order_by(*table.primary_key.columns)
    result = source.execution_options(stream_results=True, yield_per=batch).execute(query)
    for rows in result.partitions(batch):
        target.execute(table.insert(), [dict(row._mapping) for row in rows])
        yield len(rows)


def reset_sequences(target: Connection) -> None:
    """PostgreSQL: let each ``id`` sequence continue after the highest copied id."""
    if target.dialect.name != "postgresql":
        return  # SQLite hands out max(rowid) + 1 by itself
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].name != "id" or not pk[0].autoincrement:
            continue
        quoted = target.dialect.identifier_preparer.quote(table.name)
        target.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:name, 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) "
            f"FROM {quoted}"
        ), {"name": quoted})
