"""raw mail bytes on PostgreSQL: stored uncompressed (EXTERNAL), not compressed with pglz

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:30:00

Storing a fetched batch spent most of its time in the server compressing the raw
bytes with pglz, which is slow and gains little on mail whose attachments are base64
of files compressed already (bench/RESULTS.md: 1.8 s → 0.9 s of server time for 200
mails). Uncompressed, the bytes are also read in slices (``store.repository.load_raw``)
without decompressing the mail from its start for every slice. Only values stored from
now on are affected. Nothing changes on SQLite.
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE raw_message ALTER COLUMN raw SET STORAGE EXTERNAL')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE raw_message ALTER COLUMN raw SET STORAGE EXTENDED')
