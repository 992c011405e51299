"""tenant + parent indexes: a page's variants, tiers and images found by their parent under the tenant guard

Revision ID: a4c8e2f71b93
Revises: 9b3f1c2d4e50
Create Date: 2026-11-30 09:40:00

"""
from alembic import op

revision = 'a4c8e2f71b93'
down_revision = '9b3f1c2d4e50'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.create_index('ix_variants_tenant_id_product_id', ['tenant_id', 'product_id'], unique=False)
    with op.batch_alter_table('price_tiers', schema=None) as batch_op:
        batch_op.create_index('ix_price_tiers_tenant_id_variant_id', ['tenant_id', 'variant_id'], unique=False)
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.create_index('ix_product_images_tenant_id_product_id', ['tenant_id', 'product_id'], unique=False)


def downgrade():
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.drop_index('ix_product_images_tenant_id_product_id')
    with op.batch_alter_table('price_tiers', schema=None) as batch_op:
        batch_op.drop_index('ix_price_tiers_tenant_id_variant_id')
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_index('ix_variants_tenant_id_product_id')
