"""contingency: incidents, notes, pauses, manual invoices and their links, 补开 requests with
attachments, orders and their column mappings

Revision ID: 0006
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contingency_incidents",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("cause_key", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.String(length=40), nullable=False),
        sa.Column("ended_at", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("pinned", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingency_incidents")),
    )
    op.create_index(
        op.f("ix_contingency_incidents_state_cause"),
        "contingency_incidents",
        ["state", "cause"],
        unique=False,
    )
    op.create_table(
        "contingency_notes",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingency_notes")),
    )
    op.create_index(
        op.f("ix_contingency_notes_incident_id"), "contingency_notes", ["incident_id"], unique=False
    )
    op.create_table(
        "contingency_pauses",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_contingency_pauses")),
    )
    op.create_table(
        "contingency_manual",
        sa.Column("invoice_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("linked_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_contingency_manual")),
    )
    op.create_index(
        op.f("ix_contingency_manual_tenant_id"), "contingency_manual", ["tenant_id"], unique=False
    )
    op.create_table(
        "contingency_links",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("manual_invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("electronic_invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingency_links")),
        sa.UniqueConstraint(
            "manual_invoice_id",
            "electronic_invoice_id",
            name=op.f("uq_contingency_links_manual_invoice_id_electronic_invoice_id"),
        ),
    )
    op.create_table(
        "contingency_reissues",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("origin_id", sa.BigInteger(), nullable=True),
        sa.Column("original_key", sa.String(length=48), nullable=False),
        sa.Column("original_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("counterparty_tax_id", sa.String(length=32), nullable=False),
        sa.Column("counterparty_name", sa.String(length=200), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("remind_days", sa.Integer(), nullable=False),
        sa.Column("reissued_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingency_reissues")),
    )
    op.create_index(
        op.f("ix_contingency_reissues_tenant_id_state"),
        "contingency_reissues",
        ["tenant_id", "state"],
        unique=False,
    )
    op.create_table(
        "contingency_attachments",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reissue_id", sa.BigInteger(), nullable=False),
        sa.Column("material", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingency_attachments")),
    )
    op.create_index(
        op.f("ix_contingency_attachments_reissue_id"),
        "contingency_attachments",
        ["reissue_id"],
        unique=False,
    )
    op.create_table(
        "contingency_orders",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=80), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("counterparty_tax_id", sa.String(length=32), nullable=False),
        sa.Column("counterparty_name", sa.String(length=200), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingency_orders")),
        sa.UniqueConstraint(
            "tenant_id", "order_no", name=op.f("uq_contingency_orders_tenant_id_order_no")
        ),
    )
    op.create_table(
        "contingency_order_mappings",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_contingency_order_mappings")),
    )


def downgrade() -> None:
    op.drop_table("contingency_order_mappings")
    op.drop_table("contingency_orders")
    op.drop_table("contingency_attachments")
    op.drop_table("contingency_reissues")
    op.drop_table("contingency_links")
    op.drop_table("contingency_manual")
    op.drop_table("contingency_pauses")
    op.drop_table("contingency_notes")
    op.drop_table("contingency_incidents")
