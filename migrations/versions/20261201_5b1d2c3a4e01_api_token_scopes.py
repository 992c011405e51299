"""api token scopes: each shop API key holds the scopes it was created with; existing keys keep every scope

Revision ID: 5b1d2c3a4e01
Revises: 3c5e8a1f7b92
Create Date: 2026-12-01 01:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b1d2c3a4e01'
down_revision = '3c5e8a1f7b92'
branch_labels = None
depends_on = None

#: Every scope there is today, written out (not imported: a migration must not change when the code does).
#: Keys issued before scopes existed could do all of this, and keep doing it.
EVERY_SCOPE = ("catalog:read catalog:write stock:write orders:read orders:write shipments:write "
               "complaints:read complaints:write")


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=200), server_default=EVERY_SCOPE, nullable=False))
    # The default was only for the rows already there: a new key states its scopes.
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('scopes', server_default=None)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('scopes')
