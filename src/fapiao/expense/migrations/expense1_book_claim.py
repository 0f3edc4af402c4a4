"""expense: bookings (入账) and reimbursement claims (报销)

Revision ID: expense1
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "expense1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("invoice_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("voucher", sa.String(length=60), nullable=False),
        sa.Column("booked_at", sa.String(length=40), nullable=False),
        sa.Column("booked_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_bookings")),
    )
    op.create_table(
        "expense_claims",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("identity_key", sa.String(length=48), nullable=False),
        sa.Column("active_key", sa.String(length=48), nullable=True),
        sa.Column("claim_no", sa.String(length=60), nullable=False),
        sa.Column("person", sa.String(length=100), nullable=False),
        sa.Column("claimed_at", sa.String(length=40), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.Column("released_at", sa.String(length=40), nullable=False),
        sa.Column("released_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expense_claims")),
        sa.UniqueConstraint("active_key", name=op.f("uq_expense_claims_active_key")),
    )
    op.create_index(op.f("ix_expense_claims_invoice_id"), "expense_claims", ["invoice_id"])
    op.create_index(op.f("ix_expense_claims_claim_no"), "expense_claims", ["claim_no"])


def downgrade() -> None:
    op.drop_index(op.f("ix_expense_claims_claim_no"), table_name="expense_claims")
    op.drop_index(op.f("ix_expense_claims_invoice_id"), table_name="expense_claims")
    op.drop_table("expense_claims")
    op.drop_table("bookings")
