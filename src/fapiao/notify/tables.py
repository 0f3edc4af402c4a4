"""The notification tables (migration notify1), on the ledger's metadata.

`notify_channels`: a named apprise URL (`mailto://…`, `wecombot://…`, `json://…`); `owner` is the
user who added it from the web ("" for a channel the administrator set up for everyone).
`notify_rules`: which event goes to which channel, for one tenant or all (`tenant_id` NULL);
`owner` is the user whose subscription it is ("" for a rule set from the command line).
`notify_messages`: the outbox; one row per message and channel. `state`: pending (due at
`next_at`), sent, parked (gave up after too many attempts). A claim is `lease_owner` +
`lease_until`, as in the sync outbox. `notify_attempts`: every try, with its error.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from fapiao.ledger.schema import metadata

notify_channels = Table(
    "notify_channels",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("url", Text, nullable=False),  # holds secrets: shown masked, stored as given
    Column("owner", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
)

notify_rules = Table(
    "notify_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event", String(40), nullable=False),
    Column(
        "channel",
        String(60),
        ForeignKey("notify_channels.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("tenant_id", Integer, nullable=True),  # NULL: every tenant
    Column("owner", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    UniqueConstraint("event", "channel", "tenant_id", "owner"),
    Index(None, "event"),
)

notify_messages = Table(
    "notify_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event", String(40), nullable=False),
    Column("tenant_id", Integer, nullable=True),
    Column("channel", String(60), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(10), nullable=False),  # pending / sent / parked
    Column("attempts", Integer, nullable=False),
    Column("next_at", Float, nullable=False),  # unix seconds
    Column("lease_owner", String(120), nullable=False),
    Column("lease_until", Float, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("sent_at", String(40), nullable=False),
    Index(None, "state", "next_at"),
)

notify_attempts = Table(
    "notify_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Integer, ForeignKey("notify_messages.id"), nullable=False, index=True),
    Column("at", String(40), nullable=False),
    Column("ok", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("duration_ms", Integer, nullable=False),
)
