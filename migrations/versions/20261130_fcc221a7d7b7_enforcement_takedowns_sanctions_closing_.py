"""enforcement: takedowns, sanctions, closing notices

Takedown records (append-only but for the report stamp), public sanctions on shops, and shops' closing notices
(trust.enforcement).

Revision ID: fcc221a7d7b7
Revises: 57407c5b31e2
Create Date: 2026-11-30 18:28:46.433867

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fcc221a7d7b7'
down_revision = '57407c5b31e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shop_closing_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_by_id', sa.Integer(), nullable=True),
    sa.Column('by_operator', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announced_by_id'], ['users.id'], name=op.f('fk_shop_closing_notices_announced_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_closing_notices_shop_id_shops'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_shop_closing_notices_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_closing_notices'))
    )
    with op.batch_alter_table('shop_closing_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_closing_notices_closes_at'), ['closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_closing_notices_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_shop_closing_notices_tenant_id_shop_id', ['tenant_id', 'shop_id'], unique=False)

    op.create_table('shop_sanctions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('shop_name', sa.String(length=200), nullable=False),
    sa.Column('measure', sa.String(length=16), nullable=False),
    sa.Column('violation', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_shop_sanctions_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_sanctions_shop_id_shops'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_shop_sanctions_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_sanctions'))
    )
    with op.batch_alter_table('shop_sanctions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_sanctions_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_sanctions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_shop_sanctions_tenant_id_shop_id', ['tenant_id', 'shop_id'], unique=False)

    op.create_table('takedown_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('shop_id', sa.Integer(), nullable=True),
    sa.Column('product_title', sa.String(length=200), nullable=False),
    sa.Column('skus', sa.Text(), nullable=False),
    sa.Column('shop_name', sa.String(length=200), nullable=False),
    sa.Column('merchant_name', sa.String(length=200), nullable=False),
    sa.Column('registration_number', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('reason_text', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=254), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_takedown_records_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_takedown_records_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_takedown_records_shop_id_shops'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_takedown_records_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_takedown_records'))
    )
    with op.batch_alter_table('takedown_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_takedown_records_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_takedown_records_tenant_id_at', ['tenant_id', 'at'], unique=False)



def downgrade():
    with op.batch_alter_table('takedown_records', schema=None) as batch_op:
        batch_op.drop_index('ix_takedown_records_tenant_id_at')
        batch_op.drop_index(batch_op.f('ix_takedown_records_tenant_id'))

    op.drop_table('takedown_records')
    with op.batch_alter_table('shop_sanctions', schema=None) as batch_op:
        batch_op.drop_index('ix_shop_sanctions_tenant_id_shop_id')
        batch_op.drop_index(batch_op.f('ix_shop_sanctions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_shop_sanctions_ends_at'))

    op.drop_table('shop_sanctions')
    with op.batch_alter_table('shop_closing_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_shop_closing_notices_tenant_id_shop_id')
        batch_op.drop_index(batch_op.f('ix_shop_closing_notices_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_shop_closing_notices_closes_at'))

    op.drop_table('shop_closing_notices')
