"""the process that claimed an Idempotency-Key, so that a retry takes over a dead process's claim at once

Revision ID: c4d8e0f6a554
Revises: b3c7d9e5f443
Create Date: 2026-12-01 15:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4d8e0f6a554'
down_revision = 'b3c7d9e5f443'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
