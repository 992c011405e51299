"""Shop credit standing for search (issue 8): the stored score and level search ranks by, and order lines by
product for counting units sold.

Revision ID: 2b358b666373
Revises: c4e1a7b9d2f6
Create Date: 2026-11-30 17:33:35

"""
import sqlalchemy as sa
from alembic import op

revision = '2b358b666373'
down_revision = 'c4e1a7b9d2f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shop_credit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=3), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("level IN ('A', 'B', 'C', 'D', 'new')", name=op.f('ck_shop_credit_level')),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_shop_credit_score')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_credit_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_shop_credit_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_credit')),
    sa.UniqueConstraint('shop_id', name=op.f('uq_shop_credit_shop_id'))
    )
    with op.batch_alter_table('shop_credit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_credit_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_tenant_id_product_id', ['tenant_id', 'product_id'], unique=False)


def downgrade():
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_lines_tenant_id_product_id')

    with op.batch_alter_table('shop_credit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_credit_tenant_id'))

    op.drop_table('shop_credit')
