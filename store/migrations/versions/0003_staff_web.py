"""staff web page: accounts, login lock-out, resolved work items, staff routes, decision reason

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_user',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=255), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_user')),
        sa.UniqueConstraint('username', name=op.f('uq_staff_user_username')),
    )
    op.create_table(
        'login_throttle',
        sa.Column('username', sa.String(length=255), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('username', name=op.f('pk_login_throttle')),
    )
    op.create_table(
        'work_resolution',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('resolution', sa.String(length=32), nullable=False),
        sa.Column('by', sa.String(length=255), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('case_pk', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_pk'], ['case.id'], name=op.f('fk_work_resolution_case_pk_case')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_work_resolution')),
        sa.UniqueConstraint('key', name=op.f('uq_work_resolution_key')),
    )
    op.create_index(op.f('ix_work_resolution_at'), 'work_resolution', ['at'], unique=False)
    op.create_index(op.f('ix_work_resolution_case_pk'), 'work_resolution', ['case_pk'], unique=False)
    with op.batch_alter_table('raw_message') as batch:
        batch.add_column(sa.Column('staff_route', sa.JSON(), nullable=True))
    with op.batch_alter_table('case') as batch:
        batch.add_column(sa.Column('decision_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case') as batch:
        batch.drop_column('decision_reason')
    with op.batch_alter_table('raw_message') as batch:
        batch.drop_column('staff_route')
    op.drop_index(op.f('ix_work_resolution_case_pk'), table_name='work_resolution')
    op.drop_index(op.f('ix_work_resolution_at'), table_name='work_resolution')
    op.drop_table('work_resolution')
    op.drop_table('login_throttle')
    op.drop_table('staff_user')
