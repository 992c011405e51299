"""Paid placements (issue 8, ECL Art. 40): products an operator sold a place beside searches, shown apart and
labelled 广告, and the append-only record of each sale and early end.

Revision ID: b80b88dcae16
Revises: 6130045d5e8b
Create Date: 2026-11-30 17:31:43.947040

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b80b88dcae16'
down_revision = '6130045d5e8b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fee', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_placements_period')),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_placements_fee')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_placements_category_id_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_placements_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_placements_ended_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_placements_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_placements_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_placements_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placements'))
    )
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placements_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_placements_tenant_id_ends_at', ['tenant_id', 'ends_at'], unique=False)

    op.create_table('placement_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("action IN ('created', 'ended')", name=op.f('ck_placement_events_action')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_placement_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.id'], name=op.f('fk_placement_events_placement_id_placements'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_placement_events_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_events'))
    )
    with op.batch_alter_table('placement_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_events_placement_id'), ['placement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_placement_events_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('placement_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_placement_events_placement_id'))

    op.drop_table('placement_events')
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_index('ix_placements_tenant_id_ends_at')
        batch_op.drop_index(batch_op.f('ix_placements_tenant_id'))

    op.drop_table('placements')
