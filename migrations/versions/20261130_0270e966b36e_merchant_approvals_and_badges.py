"""merchant approvals, their append-only events, and electronic badges (issue 8, trust)

Revision ID: 0270e966b36e
Revises: 25d40bbc48a0
Create Date: 2026-11-30 15:41:16.164383

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0270e966b36e'
down_revision = '25d40bbc48a0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('merchant_approval_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('via_tenant_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_merchant_approval_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_merchant_approval_events_merchant_id_merchants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['via_tenant_id'], ['tenants.id'], name=op.f('fk_merchant_approval_events_via_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_approval_events'))
    )
    with op.batch_alter_table('merchant_approval_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_approval_events_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('merchant_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'expired')", name=op.f('ck_merchant_approvals_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_merchant_approvals_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_merchant_approvals_merchant_id_merchants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_approvals')),
    sa.UniqueConstraint('merchant_id', name=op.f('uq_merchant_approvals_merchant_id'))
    )
    op.create_table('badges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_changed_by_id', sa.Integer(), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('valid', 'suspended', 'revoked')", name=op.f('ck_badges_status')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_badges_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_badges_merchant_id_merchants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_badges_shop_id_shops'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['status_changed_by_id'], ['users.id'], name=op.f('fk_badges_status_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_badges_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_badges')),
    sa.UniqueConstraint('serial', name=op.f('uq_badges_serial'))
    )
    with op.batch_alter_table('badges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_badges_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_badges_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_badges_tenant_id_shop_id', ['tenant_id', 'shop_id'], unique=False)



def downgrade():
    with op.batch_alter_table('badges', schema=None) as batch_op:
        batch_op.drop_index('ix_badges_tenant_id_shop_id')
        batch_op.drop_index(batch_op.f('ix_badges_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_badges_merchant_id'))

    op.drop_table('badges')
    op.drop_table('merchant_approvals')
    with op.batch_alter_table('merchant_approval_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_approval_events_merchant_id'))

    op.drop_table('merchant_approval_events')
