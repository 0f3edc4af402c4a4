"""web: an index for the invoice list's default order within a tenant (keyset paging)

Revision ID: 0004a
Revises: 0004

`(tenant_id, issue_date, id)` lets a page of a tenant's invoices, newest first, be read straight from
the index from any position (keyset paging), with no sort; the filter columns the list offers
(direction, kind, status, authority state) ride along so they are tested without reading the row.

The last eight digits of the invoice number are indexed too: invoice numbers run in sequence, so
their trigrams are shared by thousands of neighbours and a trigram search for a number reads long
lists; a clerk's number (the whole of it, or its tail as read off the paper) is found by this index.
"""

from alembic import op

revision = "0004a"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ["tenant_id", "issue_date", "id", "direction", "kind", "status", "authority_state"]


NUMBER_TAIL = {"postgresql": "right(number, 8)", "sqlite": "substr(number, -8)"}


def upgrade() -> None:
    op.create_index("ix_invoices_tenant_list", "invoices", COLUMNS)
    tail = NUMBER_TAIL["postgresql" if op.get_bind().dialect.name == "postgresql" else "sqlite"]
    op.execute(f"CREATE INDEX ix_invoices_number_tail ON invoices ({tail})")


def downgrade() -> None:
    op.drop_index("ix_invoices_number_tail", table_name="invoices")
    op.drop_index("ix_invoices_tenant_list", table_name="invoices")
