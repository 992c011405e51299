"""operator API tokens per tenant

Revision ID: 9e5b7c3d2f21
Revises: 8d4a6b2c1e10
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e5b7c3d2f21'
down_revision = '8d4a6b2c1e10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('operator_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_operator_tokens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_operator_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_operator_tokens_token_sha256'))
    )
    with op.batch_alter_table('operator_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operator_tokens_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operator_tokens_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('operator_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operator_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_operator_tokens_tenant_id'))

    op.drop_table('operator_tokens')
