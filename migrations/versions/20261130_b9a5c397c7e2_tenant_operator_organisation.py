"""tenant operator organisation: the legal name and 统一社会信用代码 of who runs each tenant (PC-21)

Revision ID: b9a5c397c7e2
Revises: dbd6a9f1d733
Create Date: 2026-11-30 19:20:47.923353

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b9a5c397c7e2'
down_revision = 'dbd6a9f1d733'
branch_labels = None
depends_on = None


def upgrade():
    # Existing tenants start empty: their manifest or an admin fills them in, and PC-21 fails until then.
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('operator_name', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('operator_uscc', sa.String(length=18), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('operator_uscc')
        batch_op.drop_column('operator_name')
