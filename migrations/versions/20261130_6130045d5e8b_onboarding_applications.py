"""Onboarding applications (the merchant's verification file, ID number encrypted) and their audit events

Revision ID: 6130045d5e8b
Revises: 0270e966b36e
Create Date: 2026-11-30 16:00:01.951826

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6130045d5e8b'
down_revision = '0270e966b36e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('onboarding_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('registration_number', sa.String(length=32), nullable=False),
    sa.Column('resident_id_token', sa.Text(), nullable=False),
    sa.Column('resident_id_masked', sa.String(length=16), nullable=False),
    sa.Column('resident_id_consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('legal_representative', sa.String(length=100), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_phone', sa.String(length=32), nullable=False),
    sa.Column('business_address', sa.String(length=300), nullable=False),
    sa.Column('licence_image', sa.JSON(), nullable=True),
    sa.Column('licences', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('enterprise', 'individual_business', 'natural_person')", name=op.f('ck_onboarding_applications_kind')),
    sa.CheckConstraint("status IN ('submitted', 'more_info', 'approved', 'rejected')", name=op.f('ck_onboarding_applications_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_onboarding_applications_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_onboarding_applications_merchant_id_merchants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_onboarding_applications_shop_id_shops'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_onboarding_applications_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_applications'))
    )
    with op.batch_alter_table('onboarding_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onboarding_applications_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onboarding_applications_shop_id'), ['shop_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onboarding_applications_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_onboarding_applications_tenant_id_status', ['tenant_id', 'status'], unique=False)
        batch_op.create_index('uq_onboarding_applications_current_merchant', ['merchant_id'], unique=True, sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))

    op.create_table('onboarding_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_onboarding_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['application_id'], ['onboarding_applications.id'], name=op.f('fk_onboarding_events_application_id_onboarding_applications'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_onboarding_events_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_events'))
    )
    with op.batch_alter_table('onboarding_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onboarding_events_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onboarding_events_tenant_id'), ['tenant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('onboarding_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onboarding_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_onboarding_events_application_id'))

    op.drop_table('onboarding_events')
    with op.batch_alter_table('onboarding_applications', schema=None) as batch_op:
        batch_op.drop_index('uq_onboarding_applications_current_merchant', sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))
        batch_op.drop_index('ix_onboarding_applications_tenant_id_status')
        batch_op.drop_index(batch_op.f('ix_onboarding_applications_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_onboarding_applications_shop_id'))
        batch_op.drop_index(batch_op.f('ix_onboarding_applications_merchant_id'))

    op.drop_table('onboarding_applications')
