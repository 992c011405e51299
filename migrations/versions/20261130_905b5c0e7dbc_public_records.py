"""public records: regulators' published records of merchants, entered by the operator, fed to the credit (CE-7)

Records of the National Enterprise Credit Information Publicity System (经营异常名录, 行政处罚, 严重违法失信名单,
抽查检查不合格) that a tenant's operator enters for its merchants (trust.public_records). Never deleted; a removal is
stamped on the row once.

Revision ID: 905b5c0e7dbc
Revises: e529728fce02
Create Date: 2026-11-30 21:02:03.239661

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '905b5c0e7dbc'
down_revision = 'e529728fce02'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('public_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('authority', sa.String(length=200), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('listed_until', sa.Date(), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=254), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_by_name', sa.String(length=254), nullable=False),
    sa.Column('removal_note', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('abnormal_operations', 'administrative_penalty', 'serious_violation', 'failed_inspection')", name=op.f('ck_public_records_kind')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_public_records_merchant_id_merchants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_public_records_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['removed_by_id'], ['users.id'], name=op.f('fk_public_records_removed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_public_records_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_records'))
    )
    with op.batch_alter_table('public_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_records_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_public_records_tenant_id_merchant_id', ['tenant_id', 'merchant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('public_records', schema=None) as batch_op:
        batch_op.drop_index('ix_public_records_tenant_id_merchant_id')
        batch_op.drop_index(batch_op.f('ix_public_records_tenant_id'))

    op.drop_table('public_records')
