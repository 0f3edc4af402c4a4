"""Tables of insight (migration 0008).

`verifications` and `category_*` hold facts (each change an event); `insight_invoices` and
`insight_lines` are derived from the invoices and refreshed from the event log (`facts.refresh`),
with covering indexes laid out for the statistics' GROUP BYs (SQLite aggregates in index order,
without sorting).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, Text

from fapiao.ledger.schema import metadata

# One row per 查验 attempt (including refusals for the daily limit, which count for nothing).
verifications = Table(
    "verifications",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("invoice_id", BigInteger, nullable=False),
    Column("tenant_id", Integer, nullable=False),
    Column("identity_key", String(48), nullable=False),
    Column("day", Date, nullable=False),  # Asia/Shanghai calendar day of the attempt
    Column("checked_at", String(40), nullable=False),  # UTC
    Column("result", String(16), nullable=False),  # match / mismatch / not_found / limited / error
    Column("fields", Text, nullable=False),  # JSON list of differing fields
    Column("detail", Text, nullable=False),  # JSON: inputs sent, the authority's reason
    Index(None, "invoice_id", "day"),
    Index(None, "tenant_id", "result"),
)

# The tenant's category table (tenant_id 0: the defaults every tenant starts from).
categories = Table(
    "category_table",
    metadata,
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(40), primary_key=True),
    Column("zh", String(100), nullable=False),
    Column("en", String(100), nullable=False),
    Column("short_names", Text, nullable=False),  # JSON list: 税收分类 short names (餐饮服务 …)
    Column("code_prefixes", Text, nullable=False),  # JSON list: prefixes of the 19-digit code
    Column("updated_at", String(40), nullable=False),
)

# counterparty → category, learned from corrections (or set by hand).
category_rules = Table(
    "category_rules",
    metadata,
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("counterparty_tax_id", String(32), primary_key=True),
    Column("direction", String(10), primary_key=True),
    Column("category", String(40), nullable=False),
    Column("source", String(16), nullable=False),  # learned / manual
    Column("evidence", Integer, nullable=False),  # corrections that agree
    Column("updated_at", String(40), nullable=False),
)

# Categories the accountant set on one invoice (they win over rules and names).
category_overrides = Table(
    "category_overrides",
    metadata,
    Column("invoice_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("category", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

# Derived: one narrow row per invoice.
insight_invoices = Table(
    "insight_invoices",
    metadata,
    Column("invoice_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("direction", String(10), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM of the issue date
    Column("kind", String(32), nullable=False),
    Column("status", String(10), nullable=False),
    Column("authority_state", String(16), nullable=False),
    Column("category", String(40), nullable=False),
    Column("category_source", String(16), nullable=False),  # override / rule / code / name / none
    Column("counterparty_tax_id", String(32), nullable=False),
    Column("counterparty_name", String(200), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Index(
        "ix_insight_invoices_cube",
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
    ),
    Index(
        "ix_insight_invoices_party",
        "tenant_id",
        "direction",
        "counterparty_tax_id",
        "month",
        "total",
        "tax",
    ),
)

# Derived: one narrow row per line.
insight_lines = Table(
    "insight_lines",
    metadata,
    Column("invoice_id", BigInteger, primary_key=True, autoincrement=False),
    Column("line_no", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("direction", String(10), nullable=False),
    Column("month", String(7), nullable=False),
    Column("category", String(40), nullable=False),
    Column("tax_rate", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Index(
        "ix_insight_lines_cube",
        "tenant_id",
        "direction",
        "category",
        "tax_rate",
        "month",
        "amount",
        "tax",
    ),
)

# One row: the last event seq the derived tables have taken in.
insight_state = Table(
    "insight_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
)
