"""decision letters, a grant's quarters (documentation, approval), payout lists, decision versions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:00:00

Every decided case gets ``decision_version`` 1, so its first letter is for version 1.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case') as batch:
        batch.add_column(sa.Column('decision_version', sa.Integer(), nullable=False, server_default='0'))
    case = sa.table('case', sa.column('decision', sa.String), sa.column('decision_version', sa.Integer))
    op.get_bind().execute(case.update().where(case.c.decision.is_not(None)).values(decision_version=1))
    op.create_table(
        'decision_letter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_pk', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('decision', sa.String(length=32), nullable=False),
        sa.Column('amount', sa.String(length=32), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('corrects_pk', sa.Integer(), nullable=True),
        sa.Column('outbox_pk', sa.Integer(), nullable=True),
        sa.Column('recipient', sa.String(length=998), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['case_pk'], ['case.id'], name=op.f('fk_decision_letter_case_pk_case')),
        sa.ForeignKeyConstraint(['corrects_pk'], ['decision_letter.id'],
                                name=op.f('fk_decision_letter_corrects_pk_decision_letter')),
        sa.ForeignKeyConstraint(['outbox_pk'], ['outbox.id'], name=op.f('fk_decision_letter_outbox_pk_outbox')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_letter')),
        sa.UniqueConstraint('case_pk', 'version', name=op.f('uq_decision_letter_case_pk')),
    )
    op.create_index(op.f('ix_decision_letter_case_pk'), 'decision_letter', ['case_pk'], unique=False)
    op.create_table(
        'grant_quarter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_pk', sa.Integer(), nullable=False),
        sa.Column('quarter', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('documentation_pk', sa.Integer(), nullable=True),
        sa.Column('inferred', sa.Boolean(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=255), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('amount', sa.String(length=32), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_pk'], ['case.id'], name=op.f('fk_grant_quarter_case_pk_case')),
        sa.ForeignKeyConstraint(['documentation_pk'], ['case.id'],
                                name=op.f('fk_grant_quarter_documentation_pk_case')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_quarter')),
        sa.UniqueConstraint('case_pk', 'quarter', name=op.f('uq_grant_quarter_case_pk')),
    )
    op.create_index(op.f('ix_grant_quarter_case_pk'), 'grant_quarter', ['case_pk'], unique=False)
    op.create_index(op.f('ix_grant_quarter_state'), 'grant_quarter', ['state'], unique=False)
    op.create_table(
        'payout_list',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('quarter', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('filename', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_list')),
    )
    op.create_table(
        'payout',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('list_pk', sa.Integer(), nullable=False),
        sa.Column('quarter_pk', sa.Integer(), nullable=False),
        sa.Column('amount', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['list_pk'], ['payout_list.id'], name=op.f('fk_payout_list_pk_payout_list')),
        sa.ForeignKeyConstraint(['quarter_pk'], ['grant_quarter.id'],
                                name=op.f('fk_payout_quarter_pk_grant_quarter')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout')),
        sa.UniqueConstraint('quarter_pk', name=op.f('uq_payout_quarter_pk')),
    )
    op.create_index(op.f('ix_payout_list_pk'), 'payout', ['list_pk'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_payout_list_pk'), table_name='payout')
    op.drop_table('payout')
    op.drop_table('payout_list')
    op.drop_index(op.f('ix_grant_quarter_state'), table_name='grant_quarter')
    op.drop_index(op.f('ix_grant_quarter_case_pk'), table_name='grant_quarter')
    op.drop_table('grant_quarter')
    op.drop_index(op.f('ix_decision_letter_case_pk'), table_name='decision_letter')
    op.drop_table('decision_letter')
    with op.batch_alter_table('case') as batch:
        batch.drop_column('decision_version')
