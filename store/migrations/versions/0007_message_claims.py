"""a worker's claim on a message while it processes it (claimed_until, claim_token)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:00:00

Attempts are counted when a message is claimed, before any work; the claim expires,
so a worker killed while reading does not hold the message for ever.
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_message') as batch:
        batch.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('raw_message') as batch:
        batch.drop_column('claim_token')
        batch.drop_column('claimed_until')
