"""The sync tables (migration 0002), on the ledger's metadata.

`sync_outbox`: one row per operation that must reach the authority. `state`: pending (due at
`next_at`), sent (accepted, waiting to be seen by read-back), done, parked (refused for a
non-transient reason, kept with it). A claim is `lease_owner` + `lease_until`; a worker killed
mid-flight leaves a lease that expires, or that a worker on the same host takes over at once when
the owner's process is gone. `idem_key` is the operation's idempotency key; a re-send after
`missing` is a new operation with a new key (`generation` + 1).

`sync_state`: small shared records (the circuit breaker), visible to every process.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from fapiao.ledger.schema import metadata

sync_outbox = Table(
    "sync_outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False, index=True),
    Column("tenant_id", Integer, nullable=False),
    Column("op", String(10), nullable=False),  # upload / issue
    Column("idem_key", String(80), nullable=False, unique=True),
    Column("generation", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # pending / sent / done / parked
    Column("attempts", Integer, nullable=False),
    Column("next_at", Float, nullable=False),  # unix seconds
    Column("lease_owner", String(120), nullable=False),
    Column("lease_until", Float, nullable=False),
    Column("sent_at", Float, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index(None, "state", "next_at"),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", String(40), nullable=False),
)
