"""receipts and quotes in orders: merchant registration number, order lines remember their return exclusion
and the quote that priced them, quotes can be used up by an order, return requests and API order moves keep their submission key

Revision ID: d8e9f0a1b2c3
Revises: c6e7f8a9b0c1
Create Date: 2026-11-30 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd8e9f0a1b2c3'
down_revision = 'c6e7f8a9b0c1'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('requested', 'answered', 'accepted', 'declined', 'expired')"
NEW_STATUSES = "status IN ('requested', 'answered', 'accepted', 'declined', 'expired', 'ordered')"


def upgrade():
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_number', sa.String(length=32), server_default='',
                                      nullable=False))
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_exclusion', sa.String(length=32), server_default='', nullable=False))
        batch_op.add_column(sa.Column('quote_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_order_lines_quote_id_quotes'), 'quotes', ['quote_id'], ['id'],
                                    ondelete='SET NULL')
    # Lines bought before now keep the exclusions the law makes outright, read from their category; the three
    # that need the buyer's tick at checkout were never confirmed, so those goods stay returnable.
    op.execute("UPDATE order_lines SET return_exclusion = (SELECT c.return_exclusion FROM products p "
               "JOIN categories c ON c.id = p.category_id WHERE p.id = order_lines.product_id) "
               "WHERE product_id IS NOT NULL AND EXISTS (SELECT 1 FROM products p JOIN categories c "
               "ON c.id = p.category_id WHERE p.id = order_lines.product_id AND c.return_exclusion IN "
               "('custom_made', 'perishable', 'opened_media', 'periodical'))")
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_quotes_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_quotes_status'), NEW_STATUSES)
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_order_events_order_id_idempotency_key'),
                                          ['order_id', 'idempotency_key'])
    with op.batch_alter_table('return_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_return_requests_order_id_idempotency_key'), ['order_id', 'idempotency_key'])


def downgrade():
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_order_events_order_id_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
    with op.batch_alter_table('return_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_return_requests_order_id_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
    op.execute("UPDATE quotes SET status = 'accepted' WHERE status = 'ordered'")
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_quotes_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_quotes_status'), OLD_STATUSES)
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_lines_quote_id_quotes'), type_='foreignkey')
        batch_op.drop_column('quote_id')
        batch_op.drop_column('return_exclusion')
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.drop_column('registration_number')
