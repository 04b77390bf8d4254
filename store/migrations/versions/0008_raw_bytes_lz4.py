"""raw mail bytes on PostgreSQL: compressed with lz4 instead of pglz (nothing changes on SQLite)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:30:00

Storing a fetched batch spent most of its time in the server compressing the raw
bytes with pglz, which is slow and gains little on base64 attachments (bench/RESULTS.md:
1.8 s → 0.9 s of server time for 200 mails). lz4 (PostgreSQL 14 and later, when built
with it) is several times faster; without it the bytes are kept uncompressed (EXTERNAL).
Only values stored from now on are affected.
"""

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    try:
        with bind.begin_nested():
            op.execute('ALTER TABLE raw_message ALTER COLUMN raw SET COMPRESSION lz4')
    except DBAPIError:  # PostgreSQL before 14, or built without lz4
        op.execute('ALTER TABLE raw_message ALTER COLUMN raw SET STORAGE EXTERNAL')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE raw_message ALTER COLUMN raw SET STORAGE EXTENDED')
    op.execute('ALTER TABLE raw_message ALTER COLUMN raw SET COMPRESSION pglz')
