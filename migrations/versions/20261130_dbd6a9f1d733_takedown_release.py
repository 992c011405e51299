"""takedown release: the operator ends a takedown's hold on its product (the record stays)

Revision ID: dbd6a9f1d733
Revises: fcc221a7d7b7
Create Date: 2026-11-30 18:47:26.646996

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'dbd6a9f1d733'
down_revision = 'fcc221a7d7b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('takedown_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('released_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('release_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_takedown_records_product_id_released_at', ['product_id', 'released_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_takedown_records_released_by_id_users'), 'users', ['released_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('takedown_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_takedown_records_released_by_id_users'), type_='foreignkey')
        batch_op.drop_index('ix_takedown_records_product_id_released_at')
        batch_op.drop_column('release_reason')
        batch_op.drop_column('released_by_id')
        batch_op.drop_column('released_at')
