"""The contingency tables (migration 0006), on the ledger's metadata.

Times are UTC ISO strings like the rest of the ledger (`created_at`); dates are calendar dates.
Rows are never deleted: a closed incident, a resumed pause, a rejected link keep their row with
their state, and every change is an event.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from fapiao.ledger.schema import metadata

incidents = Table(
    "contingency_incidents",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=True),  # None: every tenant (the platform as a whole)
    Column("title", String(200), nullable=False),
    Column("cause", String(16), nullable=False),  # breaker / reconcile / manual
    Column("cause_key", String(120), nullable=False),
    Column("state", String(10), nullable=False),  # open / closed
    Column("started_at", String(40), nullable=False),
    Column("ended_at", String(40), nullable=False),  # "" while open
    Column("scope", Text, nullable=False),  # JSON: directions, kinds, counterparties, departments
    Column("pinned", Text, nullable=False),  # JSON list: invoices named by the cause (reconcile)
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index(None, "state", "cause"),
)

incident_notes = Table(
    "contingency_notes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("incident_id", BigInteger, nullable=False, index=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # note / opened / closed / breaker / manual …
    Column("text", Text, nullable=False),
)

pauses = Table(
    "contingency_pauses",
    metadata,
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("state", String(10), nullable=False),  # paused / active
    Column("reason", Text, nullable=False),
    Column("since", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
)

manual_invoices = Table(
    "contingency_manual",
    metadata,
    Column("invoice_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("incident_id", BigInteger, nullable=True),
    Column("department", String(100), nullable=False),
    Column("linked_invoice_id", BigInteger, nullable=True),  # the e-invoice, once confirmed
    Column("created_at", String(40), nullable=False),
    Index(None, "tenant_id"),
)

links = Table(
    "contingency_links",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("manual_invoice_id", BigInteger, nullable=False),
    Column("electronic_invoice_id", BigInteger, nullable=False),
    Column("score", Integer, nullable=False),  # 0..100
    Column("reasons", Text, nullable=False),  # JSON list of what matched
    Column("state", String(10), nullable=False),  # proposed / confirmed / rejected
    Column("decided_by", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("manual_invoice_id", "electronic_invoice_id"),
)

reissues = Table(
    "contingency_reissues",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # draft/submitted/approved/reissued/rejected
    Column("origin", String(10), nullable=False),  # finding / incident / manual
    Column("origin_id", BigInteger, nullable=True),  # reconcile action or incident id
    Column("original_key", String(48), nullable=False),  # identity of the invoice to re-issue
    Column("original_invoice_id", BigInteger, nullable=True),
    Column("direction", String(10), nullable=False),
    Column("counterparty_tax_id", String(32), nullable=False),
    Column("counterparty_name", String(200), nullable=False),
    Column("total", BigInteger, nullable=False),  # 价税合计 expected (fen)
    Column("issue_date", Date, nullable=True),  # the original's date, when known
    Column("reason", Text, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("remind_days", Integer, nullable=False),
    Column("reissued_invoice_id", BigInteger, nullable=True),
    Column("decision", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index(None, "tenant_id", "state"),
)

attachments = Table(
    "contingency_attachments",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("reissue_id", BigInteger, nullable=False, index=True),
    Column("material", String(40), nullable=False),
    Column("name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),  # in blobs
    Column("size", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
)

orders = Table(
    "contingency_orders",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("order_no", String(80), nullable=False),
    Column("direction", String(10), nullable=False),  # issued (a sale) / received (a purchase)
    Column("counterparty_tax_id", String(32), nullable=False),
    Column("counterparty_name", String(200), nullable=False),
    Column("order_date", Date, nullable=False),
    Column("total", BigInteger, nullable=False),  # 价税合计 expected (fen)
    Column("department", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("source", String(400), nullable=False),  # file it came from
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("tenant_id", "order_no"),
)

order_mappings = Table(
    "contingency_order_mappings",
    metadata,
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("mapping", Text, nullable=False),  # JSON: field -> column header
    Column("updated_at", String(40), nullable=False),
)
