"""voucher: per-tenant 科目 mapping of categories

Revision ID: voucher1
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "voucher1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voucher_accounts",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "direction", "category", name=op.f("pk_voucher_accounts")
        ),
    )


def downgrade() -> None:
    op.drop_table("voucher_accounts")
