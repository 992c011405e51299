"""listing indexes: newest-first category and shop listings, a product's lowest price

Revision ID: 7d2e4b1c9a03
Revises: 5c1e7a9d2b40
Create Date: 2026-11-28 02:40:00

"""
from alembic import op

revision = '7d2e4b1c9a03'
down_revision = '5c1e7a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('ix_products_tenant_id_category_id_status_id')
        batch_op.drop_index('ix_products_tenant_id_shop_id_status')
        batch_op.create_index('ix_products_tenant_id_category_id_status_published_at',
                              ['tenant_id', 'category_id', 'status', 'published_at', 'id'], unique=False)
        batch_op.create_index('ix_products_tenant_id_shop_id_status_published_at',
                              ['tenant_id', 'shop_id', 'status', 'published_at', 'id'], unique=False)
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_index('ix_variants_product_id')
        batch_op.create_index('ix_variants_product_id_price', ['product_id', 'price'], unique=False)


def downgrade():
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_index('ix_variants_product_id_price')
        batch_op.create_index('ix_variants_product_id', ['product_id'], unique=False)
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('ix_products_tenant_id_shop_id_status_published_at')
        batch_op.drop_index('ix_products_tenant_id_category_id_status_published_at')
        batch_op.create_index('ix_products_tenant_id_shop_id_status', ['tenant_id', 'shop_id', 'status'], unique=False)
        batch_op.create_index('ix_products_tenant_id_category_id_status_id',
                              ['tenant_id', 'category_id', 'status', 'id'], unique=False)
