"""SQLAlchemy Core schema, the same on SQLite and PostgreSQL. Alembic migrations are made from it.

Primary keys are assigned by the write path under the ledger lock (see store.py), not by the
database, so ids and event sequence numbers are known before the rows are written and never skip.
Money columns are BigInteger fen.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tax_id", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
)

# Original files, byte-for-byte, content-addressed by SHA-256.
blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", String(40), nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("identity_key", String(48), nullable=False),  # number, or code-number
    Column("direction", String(10), nullable=False),  # issued / received
    Column("kind", String(32), nullable=False),
    Column("code", String(12), nullable=False),
    Column("number", String(20), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("seller_tax_id", String(32), nullable=False),
    Column("seller_name", String(200), nullable=False),
    Column("buyer_tax_id", String(32), nullable=False),
    Column("buyer_name", String(200), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),
    Column("original_key", String(48), nullable=False),
    Column("source", String(16), nullable=False),  # file / manual / authority
    Column("authority_state", String(16), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column(
        "fingerprint", String(32), nullable=False
    ),  # parties + total + date, for near duplicates
    Column("doc", Text, nullable=False),  # canonical JSON
    Column("original_sha256", String(64), ForeignKey("blobs.sha256"), nullable=True),
    Column("original_name", String(400), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("tenant_id", "identity_key"),
    # a tenant's page in list order straight from the index, filters riding along (0004a); the
    # number-tail index of the same migration is an expression that differs per database
    Index(
        "ix_invoices_tenant_list",
        "tenant_id",
        "issue_date",
        "id",
        "direction",
        "kind",
        "status",
        "authority_state",
    ),
    Index(None, "fingerprint"),
    Index(None, "identity_key"),
)

line_items = Table(
    "line_items",
    metadata,
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("spec", String(200), nullable=False),
    Column("unit", String(40), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("unit_price", String(40), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("tax_rate", String(16), nullable=False),
    Column("tax", BigInteger, nullable=False),
)

invoice_findings = Table(
    "invoice_findings",
    metadata,
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False, index=True),
    Column("code", String(40), nullable=False),
    Column("field", String(80), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("message_en", Text, nullable=False),
)

# Rejected input, kept with its file and findings; nothing in the ledger changes.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("file_name", String(400), nullable=False),
    Column("sha256", String(64), ForeignKey("blobs.sha256"), nullable=False),
    Column("findings", Text, nullable=False),  # JSON list
    Column("created_at", String(40), nullable=False),
    # the review queue (migration 0009r): what was read, who resolved it and how
    Column("label", String(200), nullable=False, server_default=""),  # where inside the file
    Column("fields", Text, nullable=False, server_default="{}"),  # {path: {value, source, …}}
    Column("state", String(10), nullable=False, server_default="open"),  # accepted / rejected
    Column("seller_tax_id", String(32), nullable=False, server_default=""),  # tenant scope
    Column("buyer_tax_id", String(32), nullable=False, server_default=""),
    Column("resolved_at", String(40), nullable=False, server_default=""),
    Column("resolved_by", String(100), nullable=False, server_default=""),
    Column("reason", Text, nullable=False, server_default=""),
    Column("changes", Text, nullable=False, server_default="[]"),  # [{field, from, to, source}]
    Column("invoice_ids", Text, nullable=False, server_default="[]"),  # recorded on accept
    Index(None, "sha256", "label"),  # one queue item per file and place in it
    Index(None, "state", "id"),
)

# Same identity, different content: kept for review; the ledger's record is unchanged.
conflicts = Table(
    "conflicts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False, index=True),
    Column("fields", Text, nullable=False),  # JSON list of differing fields
    Column("doc", Text, nullable=False),
    Column("file_name", String(400), nullable=False),
    Column("sha256", String(64), ForeignKey("blobs.sha256"), nullable=True),
    Column("created_at", String(40), nullable=False),
)

# The append-only, hash-chained audit log. hash = sha256(prev_hash + canonical event fields).
events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("tenant_id", Integer, nullable=True),
    Column("action", String(60), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "entity", "entity_id"),
)

# One row: the last event's seq and hash, and the counters the write path hands out.
# Locking it serialises writers on PostgreSQL; on SQLite BEGIN IMMEDIATE does.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("next_id", BigInteger, nullable=False),
)

# Signed checkpoints of the audit chain (migration 0009): each signs the number of events, the last
# event's hash and the Merkle tree head over all event hashes (see fapiao.proof).
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("head", String(64), nullable=False),
    Column("root", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("doc", Text, nullable=False),  # the signed checkpoint as written out
)

# A tenant's rules for its own people (migration 0010): four_eyes = an approval (补开 …) must be
# made by someone other than the person who asked for it.
tenant_policies = Table(
    "tenant_policies",
    metadata,
    Column("tenant_id", Integer, ForeignKey("tenants.id"), primary_key=True),
    Column("four_eyes", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
)
