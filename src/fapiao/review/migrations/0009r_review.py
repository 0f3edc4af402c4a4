"""review queue: the quarantine keeps what was read, its state, and who resolved it how

Revision ID: 0009r
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0009r"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("label", sa.String(length=200), ""),
    ("fields", sa.Text(), "{}"),
    ("state", sa.String(length=10), "open"),
    ("seller_tax_id", sa.String(length=32), ""),
    ("buyer_tax_id", sa.String(length=32), ""),
    ("resolved_at", sa.String(length=40), ""),
    ("resolved_by", sa.String(length=100), ""),
    ("reason", sa.Text(), ""),
    ("changes", sa.Text(), "[]"),
    ("invoice_ids", sa.Text(), "[]"),
)


def upgrade() -> None:
    # plain ADD COLUMN with a default: existing rows become open items, no table rewrite on SQLite
    for name, type_, default in COLUMNS:
        op.add_column("quarantine", sa.Column(name, type_, nullable=False, server_default=default))
    op.create_index("ix_quarantine_sha256_label", "quarantine", ["sha256", "label"])
    op.create_index("ix_quarantine_state_id", "quarantine", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_state_id", "quarantine")
    op.drop_index("ix_quarantine_sha256_label", "quarantine")
    with op.batch_alter_table("quarantine") as batch:
        for name, _type, _default in reversed(COLUMNS):
            batch.drop_column(name)
