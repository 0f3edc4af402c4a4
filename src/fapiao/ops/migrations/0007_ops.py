"""ops: self-check history, ops state, notices, repair tickets with links, steps and attachments

Revision ID: 0007
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False)


def _text(name: str, length: int | None = None) -> sa.Column:
    kind = sa.String(length=length) if length else sa.Text()
    return sa.Column(name, kind, nullable=False)


def upgrade() -> None:
    op.create_table(
        "ops_check_runs",
        _id(),
        _text("at", 40),
        _text("source", 20),
        _text("level", 8),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        _text("results"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_check_runs")),
    )
    op.create_index(op.f("ix_ops_check_runs_at"), "ops_check_runs", ["at"], unique=False)
    op.create_table(
        "ops_state",
        _text("name", 40),
        _text("value"),
        _text("updated_at", 40),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ops_state")),
    )
    op.create_table(
        "ops_notices",
        _id(),
        _text("title", 200),
        _text("body"),
        _text("issuer", 200),
        _text("scope", 400),
        _text("starts_on", 10),
        _text("ends_on", 10),
        _text("state", 10),
        _text("author", 100),
        _text("created_at", 40),
        _text("updated_at", 40),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_notices")),
    )
    op.create_table(
        "ops_tickets",
        _id(),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        _text("reporter", 100),
        _text("occurred_at", 40),
        _text("place", 200),
        _text("category", 20),
        _text("symptoms"),
        _text("state", 10),
        _text("priority", 10),
        _text("assignee", 100),
        _text("incident_id", 40),
        _text("created_at", 40),
        _text("updated_at", 40),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_tickets")),
    )
    op.create_index(op.f("ix_ops_tickets_reporter"), "ops_tickets", ["reporter"], unique=False)
    op.create_index(op.f("ix_ops_tickets_state"), "ops_tickets", ["state"], unique=False)
    op.create_table(
        "ops_ticket_links",
        sa.Column("ticket_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "invoice_id", name=op.f("pk_ops_ticket_links")),
    )
    op.create_index(
        op.f("ix_ops_ticket_links_invoice_id"), "ops_ticket_links", ["invoice_id"], unique=False
    )
    op.create_table(
        "ops_ticket_steps",
        _id(),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        _text("at", 40),
        _text("actor", 100),
        _text("action", 20),
        _text("text"),
        _text("detail"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_ticket_steps")),
    )
    op.create_index(
        op.f("ix_ops_ticket_steps_ticket_id"), "ops_ticket_steps", ["ticket_id"], unique=False
    )
    op.create_table(
        "ops_ticket_files",
        _id(),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        _text("name", 300),
        _text("sha256", 64),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _text("created_at", 40),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_ticket_files")),
    )
    op.create_index(
        op.f("ix_ops_ticket_files_ticket_id"), "ops_ticket_files", ["ticket_id"], unique=False
    )


def downgrade() -> None:
    for table in (
        "ops_ticket_files",
        "ops_ticket_steps",
        "ops_ticket_links",
        "ops_tickets",
        "ops_notices",
        "ops_state",
        "ops_check_runs",
    ):
        op.drop_table(table)
