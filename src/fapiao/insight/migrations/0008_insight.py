"""insight: 查验 results, category table, rules and overrides, derived per-invoice and per-line facts

Revision ID: 0008
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None


def _s(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=False)


def _big(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, **kw)


def _int(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, **kw)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "verifications",
        _big("id", autoincrement=False),
        _big("invoice_id"),
        _int("tenant_id"),
        _s("identity_key", 48),
        sa.Column("day", sa.Date(), nullable=False),
        _s("checked_at", 40),
        _s("result", 16),
        _text("fields"),
        _text("detail"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
    )
    op.create_index("ix_verifications_invoice_id_day", "verifications", ["invoice_id", "day"])
    op.create_index("ix_verifications_tenant_id_result", "verifications", ["tenant_id", "result"])
    op.create_table(
        "category_table",
        _int("tenant_id", autoincrement=False),
        _s("code", 40),
        _s("zh", 100),
        _s("en", 100),
        _text("short_names"),
        _text("code_prefixes"),
        _s("updated_at", 40),
        sa.PrimaryKeyConstraint("tenant_id", "code", name=op.f("pk_category_table")),
    )
    op.create_table(
        "category_rules",
        _int("tenant_id", autoincrement=False),
        _s("counterparty_tax_id", 32),
        _s("direction", 10),
        _s("category", 40),
        _s("source", 16),
        _int("evidence"),
        _s("updated_at", 40),
        sa.PrimaryKeyConstraint(
            "tenant_id", "counterparty_tax_id", "direction", name=op.f("pk_category_rules")
        ),
    )
    op.create_table(
        "category_overrides",
        _big("invoice_id", autoincrement=False),
        _int("tenant_id"),
        _s("category", 40),
        _s("updated_at", 40),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_category_overrides")),
    )
    op.create_table(
        "insight_invoices",
        _big("invoice_id", autoincrement=False),
        _int("tenant_id"),
        _s("direction", 10),
        _s("month", 7),
        _s("kind", 32),
        _s("status", 10),
        _s("authority_state", 16),
        _s("category", 40),
        _s("category_source", 16),
        _s("counterparty_tax_id", 32),
        _s("counterparty_name", 200),
        _big("amount"),
        _big("tax"),
        _big("total"),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_insight_invoices")),
    )
    op.create_index(
        "ix_insight_invoices_cube",
        "insight_invoices",
        [
            "tenant_id",
            "direction",
            "month",
            "kind",
            "status",
            "authority_state",
            "category",
            "amount",
            "tax",
            "total",
        ],
    )
    op.create_index(
        "ix_insight_invoices_party",
        "insight_invoices",
        ["tenant_id", "direction", "counterparty_tax_id", "month", "total", "tax"],
    )
    op.create_table(
        "insight_lines",
        _big("invoice_id", autoincrement=False),
        _int("line_no", autoincrement=False),
        _int("tenant_id"),
        _s("direction", 10),
        _s("month", 7),
        _s("category", 40),
        _s("tax_rate", 16),
        _big("amount"),
        _big("tax"),
        sa.PrimaryKeyConstraint("invoice_id", "line_no", name=op.f("pk_insight_lines")),
    )
    op.create_index(
        "ix_insight_lines_cube",
        "insight_lines",
        ["tenant_id", "direction", "category", "tax_rate", "month", "amount", "tax"],
    )
    op.create_table(
        "insight_state",
        _int("id", autoincrement=False),
        _big("seq"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_state")),
    )


def downgrade() -> None:
    for name in (
        "insight_state",
        "insight_lines",
        "insight_invoices",
        "category_overrides",
        "category_rules",
        "category_table",
        "verifications",
    ):
        op.drop_table(name)
