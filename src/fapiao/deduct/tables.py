"""Tables of deduction (migration deduct1).

`deduct_selections` holds at most one row per invoice: an invoice is selected in one period or in
none, so "already selected in another period" is a fact of the key, not a check that two writers
could both pass. `deduct_periods` holds the periods whose 统计确认 was made, with the totals then.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from fapiao.ledger.schema import metadata

selections = Table(
    "deduct_selections",
    metadata,
    Column("invoice_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("period", String(7), nullable=False),  # 税款所属期 YYYY-MM
    Column("purpose", String(10), nullable=False),  # deduct 抵扣 / no_deduct 不抵扣
    Column("reason", String(200), nullable=False),  # 不抵扣原因
    Column("selected_at", String(40), nullable=False),
    Column("selected_by", String(100), nullable=False),
    Index(None, "tenant_id", "period"),
)

periods = Table(
    "deduct_periods",
    metadata,
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("period", String(7), primary_key=True),
    Column("confirmed_at", String(40), nullable=False),
    Column("confirmed_by", String(100), nullable=False),
    Column("totals", Text, nullable=False),  # JSON: the status as confirmed
)
