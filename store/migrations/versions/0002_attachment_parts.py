"""report parts as a list: Attachment.parts instead of comma-joined roles

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 13:00:00

A report attachment used to carry its parts in ``role`` ("regnskab,revisionsberetning",
cut at 64 characters). The parts move to a JSON list; such rows get the role
``rapportdel``.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# the roles that are not report parts (store/words.py AttachmentRole, as of this revision)
_PLAIN_ROLES = ("form", "budget", "bilag", "for stor")


def upgrade() -> None:
    with op.batch_alter_table('attachment') as batch:
        batch.add_column(sa.Column('parts', sa.JSON(), nullable=True))
    attachment = sa.table('attachment', sa.column('id', sa.Integer), sa.column('role', sa.String),
                          sa.column('parts', sa.JSON))
    conn = op.get_bind()
    rows = conn.execute(sa.select(attachment.c.id, attachment.c.role).where(
        attachment.c.role.is_not(None), attachment.c.role.not_in(_PLAIN_ROLES))).all()
    for pk, role in rows:
        parts = [p for p in role.split(",") if p]
        conn.execute(attachment.update().where(attachment.c.id == pk).values(
            role='rapportdel', parts=json.loads(json.dumps(parts))))


def downgrade() -> None:
    with op.batch_alter_table('attachment') as batch:
        batch.drop_column('parts')
