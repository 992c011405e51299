"""search: query statistics per tenant and day, the reindex journal

Revision ID: 9b3f1c2d4e50
Revises: 7d2e4b1c9a03
Create Date: 2026-11-30 09:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '9b3f1c2d4e50'
down_revision = '7d2e4b1c9a03'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_query_stats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('query', sa.String(length=100), nullable=False),
        sa.Column('searches', sa.Integer(), nullable=False),
        sa.Column('zero_results', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('searches >= 1', name=op.f('ck_search_query_stats_searches')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_search_query_stats_tenant_id_tenants'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_query_stats')),
        sa.UniqueConstraint('tenant_id', 'day', 'query', name=op.f('uq_search_query_stats_tenant_id_day_query')),
    )
    with op.batch_alter_table('search_query_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_query_stats_tenant_id'), ['tenant_id'], unique=False)
    op.create_table(
        'search_journal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_search_journal_tenant_id_tenants'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_journal')),
    )
    with op.batch_alter_table('search_journal', schema=None) as batch_op:
        batch_op.create_index('ix_search_journal_tenant_id_product_id', ['tenant_id', 'product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_journal_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    op.drop_table('search_journal')
    op.drop_table('search_query_stats')
