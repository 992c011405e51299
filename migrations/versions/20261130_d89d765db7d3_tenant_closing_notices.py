"""tenant closing notices: a whole street or market announces its last trading day 30 days ahead (ECL Art. 16)

Revision ID: d89d765db7d3
Revises: 905b5c0e7dbc
Create Date: 2026-11-30 21:34:42.692057

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd89d765db7d3'
down_revision = '905b5c0e7dbc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tenant_closing_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announced_by_id'], ['users.id'], name=op.f('fk_tenant_closing_notices_announced_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_closing_notices_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_closing_notices'))
    )
    with op.batch_alter_table('tenant_closing_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenant_closing_notices_closes_at'), ['closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tenant_closing_notices_tenant_id'), ['tenant_id'], unique=False)
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closing_on', sa.Date(), nullable=True))



def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('closing_on')
    with op.batch_alter_table('tenant_closing_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenant_closing_notices_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_tenant_closing_notices_closes_at'))

    op.drop_table('tenant_closing_notices')
