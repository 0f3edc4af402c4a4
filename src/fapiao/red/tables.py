"""Tables of 红字确认单 (migration red1).

One row per request. `state`: awaiting_approval (four eyes: a second person must approve it first)
→ pending (待对方确认) → issued (confirmed, the red invoice drafted and queued) | rejected |
expired (not confirmed within 72 hours). Amounts are negative fen, as on the red invoice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, text

from fapiao.ledger import schema
from fapiao.ledger.schema import metadata

requests = Table(
    "red_requests",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("blue_id", BigInteger, nullable=False),
    Column("blue_key", String(48), nullable=False),
    Column("reason", String(10), nullable=False),  # 开票有误 / 销货退回 / 服务中止 / 销售折让
    Column("lines", Text, nullable=False),  # JSON: the red lines (canonical line items, negative)
    Column("amount", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("state", String(20), nullable=False),
    Column("requested_at", String(40), nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("deadline", String(40), nullable=False),  # UTC; 72 hours after it went to the other side
    Column("approved_by", String(100), nullable=False),
    Column("decided_at", String(40), nullable=False),
    Column("decided_by", String(100), nullable=False),
    Column("red_invoice_id", BigInteger, nullable=True),
    Column("platform_id", String(40), nullable=False),  # the platform's 确认单 id once sent
    Index(None, "blue_id"),
    Index(None, "tenant_id", "state"),
)

# The red invoices of a blue one, by the blue's identity: the invoice page's 红冲 block and every
# listing's 红冲状态 probe it per row. Partial: only red invoices carry an `original_key`, so the
# index stays as small as they are few and costs blue imports nothing (migration red2).
HAS_ORIGINAL = text("original_key <> ''")
Index(
    "ix_invoices_red_original",
    schema.invoices.c.tenant_id,
    schema.invoices.c.original_key,
    sqlite_where=HAS_ORIGINAL,
    postgresql_where=HAS_ORIGINAL,
)
