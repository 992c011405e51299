"""account closures and held orders (residents close their account; orders kept under legal hold)

Revision ID: fac7dbb89189
Revises: e7d3a9c41b25
Create Date: 2026-11-30 18:27:57.348349

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'fac7dbb89189'
down_revision = 'e7d3a9c41b25'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_orders', sa.Integer(), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_closures_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_closures')),
    sa.UniqueConstraint('user_id', name=op.f('uq_account_closures_user_id'))
    )
    op.create_table('held_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hold_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('buyer_name', sa.String(length=100), server_default='', nullable=False),
    sa.Column('buyer_contact', sa.String(length=254), server_default='', nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_held_orders_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_held_orders_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_held_orders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_orders')),
    sa.UniqueConstraint('order_id', name=op.f('uq_held_orders_order_id'))
    )
    with op.batch_alter_table('held_orders', schema=None) as batch_op:
        batch_op.create_index('ix_held_orders_purged_at_hold_until', ['purged_at', 'hold_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_held_orders_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_held_orders_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('held_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_orders_user_id'))
        batch_op.drop_index(batch_op.f('ix_held_orders_tenant_id'))
        batch_op.drop_index('ix_held_orders_purged_at_hold_until')

    op.drop_table('held_orders')
    op.drop_table('account_closures')
