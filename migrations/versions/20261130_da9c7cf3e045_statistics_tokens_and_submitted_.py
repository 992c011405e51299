"""statistics tokens and submitted statistics returns

The statistics office's bearer tokens (hashed) for /api/v1/statistics, and the archive of submitted reports
(monthly statistics returns, half-yearly merchant identity reports; frozen, a correction is a new version).

Revision ID: da9c7cf3e045
Revises: 6820449c51f5
Create Date: 2026-11-30 18:09:39.177564

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'da9c7cf3e045'
down_revision = '6820449c51f5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('statistics_returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_statistics_returns_submitted_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statistics_returns')),
    sa.UniqueConstraint('kind', 'period', 'version', name=op.f('uq_statistics_returns_kind_period_version'))
    )
    op.create_table('statistics_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_statistics_tokens_issued_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statistics_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_statistics_tokens_token_sha256'))
    )


def downgrade():
    op.drop_table('statistics_tokens')
    op.drop_table('statistics_returns')
