"""sender authentication: what the inbox's own mail server said about a case's sender

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00

``case.sender_auth`` holds ``bekræftet`` (DMARC passed, or SPF/DKIM aligned with
the From domain, by the trusted ``Authentication-Results`` header), ``ikke
bekræftet`` (no automatic mail goes to that sender) or ``ikke tjekket`` (no
trusted header is configured). Cases made before this revision stay NULL
(not checked).
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case') as batch:
        batch.add_column(sa.Column('sender_auth', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case') as batch:
        batch.drop_column('sender_auth')
