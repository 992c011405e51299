"""Signed checkpoints of the review chains (issue 8): the platform's signature over each tenant's chain head.

Revision ID: c4e1a7b9d2f6
Revises: b80b88dcae16
Create Date: 2026-11-30 18:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c4e1a7b9d2f6'
down_revision = 'b80b88dcae16'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('review_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_review_checkpoints_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_checkpoints')),
    sa.UniqueConstraint('tenant_id', 'seq', name=op.f('uq_review_checkpoints_tenant_id_seq'))
    )
    with op.batch_alter_table('review_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_checkpoints_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('review_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_checkpoints_tenant_id'))
    op.drop_table('review_checkpoints')
