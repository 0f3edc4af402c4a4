"""deduct: 勾选 selections and confirmed periods

Revision ID: deduct1
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "deduct1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deduct_selections",
        sa.Column("invoice_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("selected_at", sa.String(length=40), nullable=False),
        sa.Column("selected_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_deduct_selections")),
    )
    op.create_index(
        op.f("ix_deduct_selections_tenant_id_period"),
        "deduct_selections",
        ["tenant_id", "period"],
    )
    op.create_table(
        "deduct_periods",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("confirmed_at", sa.String(length=40), nullable=False),
        sa.Column("confirmed_by", sa.String(length=100), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "period", name=op.f("pk_deduct_periods")),
    )


def downgrade() -> None:
    op.drop_table("deduct_periods")
    op.drop_index(op.f("ix_deduct_selections_tenant_id_period"), table_name="deduct_selections")
    op.drop_table("deduct_selections")
