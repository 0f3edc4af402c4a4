"""The operations tables (migration 0007), on the ledger's metadata.

- `ops_check_runs`: each self-check run (`fapiao check`, the daily run of `serve`), with every
  check's level; the status page's 30-day history is read from here.
- `ops_state`: small named records (the rotating cursor of the original-file re-hash, the readiness
  heartbeat used to prove the database takes writes).
- `ops_notices`: official notices an admin posts (e.g. from the tax bureau), with dates and scope.
- `ops_tickets`, `ops_ticket_links`, `ops_ticket_steps`, `ops_ticket_files`: repair tickets (报修),
  what they are linked to, every step taken on them, their attachments (bytes in `blobs`).

Times are UTC ISO strings like the rest of the ledger. Rows are never deleted: a withdrawn notice
and a closed ticket keep their rows, and every change is an event in the audit chain.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from fapiao.ledger.schema import metadata

check_runs = Table(
    "ops_check_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("source", String(20), nullable=False),  # cli / daily
    Column("level", String(8), nullable=False),  # ok / warn / fail: the worst of the checks
    Column("duration_ms", BigInteger, nullable=False),
    Column("results", Text, nullable=False),  # JSON list of checks
    Index(None, "at"),
)

ops_state = Table(
    "ops_state",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", String(40), nullable=False),
)

notices = Table(
    "ops_notices",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("issuer", String(200), nullable=False),  # e.g. 国家税务总局北京市税务局
    Column("scope", String(400), nullable=False),  # affected regions, services, tenants
    Column("starts_on", String(10), nullable=False),  # YYYY-MM-DD
    Column("ends_on", String(10), nullable=False),  # "" open-ended
    Column("state", String(10), nullable=False),  # posted / withdrawn
    Column("author", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

tickets = Table(
    "ops_tickets",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=True),
    Column("reporter", String(100), nullable=False),
    Column("occurred_at", String(40), nullable=False),  # when the fault was seen
    Column("place", String(200), nullable=False),  # office, device, page
    Column("category", String(20), nullable=False),
    Column("symptoms", Text, nullable=False),
    Column("state", String(10), nullable=False),  # open / triaged / assigned / answered / closed
    Column("priority", String(10), nullable=False),  # low / normal / high / urgent
    Column("assignee", String(100), nullable=False),
    Column("incident_id", String(40), nullable=False),  # "" when not linked
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index(None, "state"),
    Index(None, "reporter"),
)

ticket_links = Table(
    "ops_ticket_links",
    metadata,
    Column("ticket_id", BigInteger, primary_key=True, autoincrement=False),
    Column("invoice_id", BigInteger, primary_key=True, autoincrement=False),
    Index(None, "invoice_id"),
)

ticket_steps = Table(
    "ops_ticket_steps",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("ticket_id", BigInteger, nullable=False, index=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(20), nullable=False),  # filed / triaged / assigned / answered / …
    Column("text", Text, nullable=False),
    Column("detail", Text, nullable=False),  # JSON: what changed
)

ticket_files = Table(
    "ops_ticket_files",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("ticket_id", BigInteger, nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),  # bytes in `blobs`
    Column("size", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
)
