"""webhook signing secrets encrypted at rest

Revision ID: b3c7d9e5f443
Revises: a1f6c8d4e332
Create Date: 2026-12-01 04:20:00

The secrets saved so far are sealed here, with the key the running configuration derives from SECRET_KEY
(``flask db upgrade`` runs inside the application), exactly as the application seals new ones.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3c7d9e5f443'
down_revision = 'a1f6c8d4e332'
branch_labels = None
depends_on = None

PURPOSE = b"webhook-signing-secret"  # marketplace.webhooks.models.SECRET_PURPOSE, as it was when this was written


def _rewrite(connection, source: str, target: str, change) -> None:
    rows = connection.execute(sa.text(f"SELECT id, {source} FROM webhook_endpoints")).all()
    for row_id, value in rows:
        connection.execute(sa.text(f"UPDATE webhook_endpoints SET {target} = :value WHERE id = :id"),
                           {"value": change(value), "id": row_id})


def upgrade():
    from marketplace.core import crypto

    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_sealed', sa.String(length=300), nullable=True))
    _rewrite(op.get_bind(), "secret", "secret_sealed", lambda plain: crypto.seal(PURPOSE, plain))
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret_sealed', existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_column('secret')


def downgrade():
    from marketplace.core import crypto

    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=100), nullable=True))
    _rewrite(op.get_bind(), "secret_sealed", "secret", lambda sealed: crypto.unseal(PURPOSE, sealed))
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_column('secret_sealed')
