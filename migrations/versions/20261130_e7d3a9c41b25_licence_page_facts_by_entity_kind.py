"""What the licence page shows by entity kind (网络交易监督管理办法 Art. 12): an enterprise's type and registered
capital, an individual business's form of organisation, an exempt trader's self-declaration.

Revision ID: e7d3a9c41b25
Revises: da9c7cf3e045
Create Date: 2026-11-30 18:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e7d3a9c41b25'
down_revision = 'da9c7cf3e045'
branch_labels = None
depends_on = None

COLUMNS = (("entity_type", 64), ("registered_capital", 64), ("organisation_form", 16), ("exemption", 32))


def upgrade():
    with op.batch_alter_table('onboarding_applications', schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('onboarding_applications', schema=None) as batch_op:
        for name, _length in reversed(COLUMNS):
            batch_op.drop_column(name)
