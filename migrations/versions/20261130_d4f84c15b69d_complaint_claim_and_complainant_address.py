"""complaint claim and complainant address: what 12315 needs of a complaint (CH-2)

Revision ID: d4f84c15b69d
Revises: b9a5c397c7e2
Create Date: 2026-11-30 19:23:23.386095

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4f84c15b69d'
down_revision = 'b9a5c397c7e2'
branch_labels = None
depends_on = None


def upgrade():
    # Complaints filed before were never asked: they stay empty, and CH-2 names them.
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complainant_address', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('claim', sa.String(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('claim_detail', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('claim_detail')
        batch_op.drop_column('claim')
        batch_op.drop_column('complainant_address')
