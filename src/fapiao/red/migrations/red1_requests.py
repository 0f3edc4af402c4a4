"""red: 红字确认单

Revision ID: red1
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "red1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "red_requests",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("blue_id", sa.BigInteger(), nullable=False),
        sa.Column("blue_key", sa.String(length=48), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("deadline", sa.String(length=40), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.String(length=40), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("red_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_requests")),
    )
    op.create_index(op.f("ix_red_requests_blue_id"), "red_requests", ["blue_id"])
    op.create_index(op.f("ix_red_requests_tenant_id_state"), "red_requests", ["tenant_id", "state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_red_requests_tenant_id_state"), table_name="red_requests")
    op.drop_index(op.f("ix_red_requests_blue_id"), table_name="red_requests")
    op.drop_table("red_requests")
