"""Intellectual-property notices (notice, takedown, counter-notice) and their append-only events

Revision ID: 57407c5b31e2
Revises: fac7dbb89189
Create Date: 2026-11-30 18:28:08.205601

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '57407c5b31e2'
down_revision = 'fac7dbb89189'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ip_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('right_kind', sa.String(length=16), nullable=False),
    sa.Column('right_number', sa.String(length=100), nullable=False),
    sa.Column('holder_name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('step_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_for', sa.String(length=16), nullable=False),
    sa.Column('review_due', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=False),
    sa.Column('product_was_active', sa.Boolean(), nullable=False),
    sa.Column('forwarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counter_statement', sa.Text(), nullable=False),
    sa.Column('counter_photos', sa.JSON(), nullable=False),
    sa.Column('countered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('countered_by', sa.Integer(), nullable=True),
    sa.Column('counter_forwarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('holder_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('action_reference', sa.String(length=200), nullable=False),
    sa.Column('action_reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('restored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("right_kind IN ('trademark', 'patent', 'copyright')", name=op.f('ck_ip_notices_right_kind')),
    sa.CheckConstraint("status IN ('filed', 'rejected', 'taken_down', 'countered', 'action_reported', 'restored')", name=op.f('ck_ip_notices_status')),
    sa.ForeignKeyConstraint(['countered_by'], ['users.id'], name=op.f('fk_ip_notices_countered_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_ip_notices_holder_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_ip_notices_product_id_products'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], name=op.f('fk_ip_notices_reviewed_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_ip_notices_shop_id_shops'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ip_notices_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ip_notices')),
    sa.UniqueConstraint('number', name=op.f('uq_ip_notices_number'))
    )
    with op.batch_alter_table('ip_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ip_notices_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index('ix_ip_notices_product_id_status', ['product_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_ip_notices_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_ip_notices_tenant_id_shop_id_status', ['tenant_id', 'shop_id', 'status'], unique=False)
        batch_op.create_index('ix_ip_notices_tenant_id_status_due_at', ['tenant_id', 'status', 'due_at'], unique=False)

    op.create_table('ip_notice_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_ip_notice_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['notice_id'], ['ip_notices.id'], name=op.f('fk_ip_notice_events_notice_id_ip_notices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ip_notice_events_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ip_notice_events'))
    )
    with op.batch_alter_table('ip_notice_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ip_notice_events_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ip_notice_events_tenant_id'), ['tenant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('ip_notice_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ip_notice_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_ip_notice_events_notice_id'))

    op.drop_table('ip_notice_events')
    with op.batch_alter_table('ip_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_ip_notices_tenant_id_status_due_at')
        batch_op.drop_index('ix_ip_notices_tenant_id_shop_id_status')
        batch_op.drop_index(batch_op.f('ix_ip_notices_tenant_id'))
        batch_op.drop_index('ix_ip_notices_product_id_status')
        batch_op.drop_index(batch_op.f('ix_ip_notices_holder_id'))

    op.drop_table('ip_notices')
