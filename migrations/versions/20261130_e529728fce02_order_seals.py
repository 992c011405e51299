"""order seals: each tenant's order records sealed in batches into a signed hash chain (PC-8)

Revision ID: e529728fce02
Revises: d4f84c15b69d
Create Date: 2026-11-30 21:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e529728fce02'
down_revision = 'd4f84c15b69d'
branch_labels = None
depends_on = None


def upgrade():
    # Orders placed before this revision are sealed by the first `flask orders seal`: its window starts at the
    # tenant's first order record.
    op.create_table('order_seals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('manifest', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_seals_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_seals')),
    sa.UniqueConstraint('tenant_id', 'seq', name=op.f('uq_order_seals_tenant_id_seq'))
    )
    with op.batch_alter_table('order_seals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_seals_tenant_id'), ['tenant_id'], unique=False)
    # Sealing reads one time window of a tenant's records every hour.
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index('ix_order_events_tenant_id_at', ['tenant_id', 'at'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_tenant_id_created_at')
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index('ix_order_events_tenant_id_at')
    with op.batch_alter_table('order_seals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_seals_tenant_id'))
    op.drop_table('order_seals')
