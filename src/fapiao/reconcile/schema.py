"""Tables of reconciliation (migration 0003): each run, and one action per finding.

An action is keyed by (tenant, category, invoice identity): running the reconciliation again finds
the same action for a finding that persists, so its state, owner and notes carry over.
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

reconcile_runs = Table(
    "reconcile_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("period", String(10), nullable=False),  # YYYY-MM, YYYY, or "" for all
    Column("authority", String(400), nullable=False),  # file name or URL the list came from
    Column("summary", Text, nullable=False),  # JSON: counts per category
    Column("created_at", String(40), nullable=False),
    Index(None, "tenant_id", "created_at"),
)

reconcile_actions = Table(
    "reconcile_actions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("category", String(32), nullable=False),  # missing_at_authority …
    Column("identity_key", String(48), nullable=False),
    Column("code", String(12), nullable=False),
    Column("number", String(20), nullable=False),
    Column("issue_date", Date, nullable=True),
    Column("remedy", String(32), nullable=False),  # reupload / request_reissue / ask_copy …
    Column("state", String(16), nullable=False),  # open / in_progress / resolved / waived
    Column("owner", String(100), nullable=False),
    Column("due_date", Date, nullable=True),
    Column("notes", Text, nullable=False),
    Column("detail", Text, nullable=False),  # JSON: the finding, with both sides' values
    Column("first_run_id", BigInteger, nullable=False),
    Column("last_run_id", BigInteger, nullable=False),
    Column("resolution", String(32), nullable=False),  # how it closed: done / vanished / waived
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("tenant_id", "category", "identity_key"),
    Index(None, "tenant_id", "state"),
)
