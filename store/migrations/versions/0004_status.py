"""status: the last fetch of every folder, and whether a person has seen a quarantined mail

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:00:00

``fetch_status`` keeps per (account, folder) when the last fetch succeeded and
the last error, for ``pulje-intake status``. ``raw_message.quarantine_seen_at``
is set when a person looked at a quarantined mail (``quarantine show``), so
that ``status`` calls only unseen quarantine unhealthy.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'fetch_status',
        sa.Column('account', sa.String(length=255), nullable=False),
        sa.Column('folder', sa.String(length=500), nullable=False),
        sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('account', 'folder', name=op.f('pk_fetch_status')),
    )
    with op.batch_alter_table('raw_message') as batch:
        batch.add_column(sa.Column('quarantine_seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('raw_message') as batch:
        batch.drop_column('quarantine_seen_at')
    op.drop_table('fetch_status')
