"""shop applications (入驻申请): residents apply to open a shop in a street or market, operators decide

Revision ID: 3c5e8a1f7b92
Revises: d89d765db7d3
Create Date: 2026-12-01 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3c5e8a1f7b92'
down_revision = 'd89d765db7d3'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'submitted'")


def upgrade():
    op.create_table('shop_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('registration_number', sa.String(length=32), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_phone', sa.String(length=32), nullable=False),
    sa.Column('shop_name_zh', sa.String(length=200), nullable=False),
    sa.Column('shop_name_en', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('wished_place', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('enterprise', 'individual_business', 'natural_person')", name=op.f('ck_shop_applications_kind')),
    sa.CheckConstraint("status IN ('submitted', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_shop_applications_status')),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_shop_applications_applicant_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_shop_applications_category_id_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_shop_applications_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_applications_shop_id_shops'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_shop_applications_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_applications'))
    )
    with op.batch_alter_table('shop_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_applications_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_shop_applications_tenant_id_status', ['tenant_id', 'status'], unique=False)
        batch_op.create_index('ix_shop_applications_tenant_id_applicant_id', ['tenant_id', 'applicant_id'], unique=False)
        batch_op.create_index('uq_shop_applications_open_applicant', ['tenant_id', 'applicant_id'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.create_index('uq_shop_applications_open_slug', ['tenant_id', 'slug'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade():
    with op.batch_alter_table('shop_applications', schema=None) as batch_op:
        batch_op.drop_index('uq_shop_applications_open_slug', sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index('uq_shop_applications_open_applicant', sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index('ix_shop_applications_tenant_id_applicant_id')
        batch_op.drop_index('ix_shop_applications_tenant_id_status')
        batch_op.drop_index(batch_op.f('ix_shop_applications_tenant_id'))

    op.drop_table('shop_applications')
