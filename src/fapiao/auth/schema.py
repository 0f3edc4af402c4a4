"""Tables of users and their access; on the ledger's one `metadata` (migrations 0004, 0004b)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table

from fapiao.ledger.schema import invoices, metadata

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),  # admin / accountant / auditor / viewer
    Column("disabled", Integer, nullable=False),
    Column("failed_count", Integer, nullable=False),  # wrong passwords since the last success
    Column("locked_until", String(40), nullable=False),  # UTC ISO timestamp, "" when not locked
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

# Which tenants (companies) a user may see; admins see every tenant.
user_tenants = Table(
    "user_tenants",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), primary_key=True),
    Column("created_at", String(40), nullable=False),
)

# Browser sessions; only the SHA-256 of the cookie value is stored.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
)

# Tokens for scripts (Authorization: Bearer …); only the SHA-256 is stored.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False, server_default=""),  # migration 0004b
    Column("last_used_at", String(40), nullable=False, server_default=""),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("ok", Integer, nullable=False),
    Column("at", String(40), nullable=False),
    Index(None, "ip", "at"),
)

# Lists sorted by date across all tenants (an admin's view) read this index instead of sorting.
Index("ix_invoices_issue_date_id", invoices.c.issue_date, invoices.c.id)
