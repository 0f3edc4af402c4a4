"""red: the red invoices of a blue one, found by its identity (a partial index)

Revision ID: red2
Revises: red1
"""

import sqlalchemy as sa
from alembic import op

revision = "red2"
down_revision = "red1"
branch_labels = None
depends_on = None

WHERE = sa.text("original_key <> ''")


def upgrade() -> None:
    op.create_index(
        "ix_invoices_red_original",
        "invoices",
        ["tenant_id", "original_key"],
        unique=False,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_red_original", table_name="invoices")
