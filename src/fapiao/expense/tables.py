"""Tables of booking and reimbursement (migration expense1).

`expense_claims` keeps every claim line ever made. `active_key` is the invoice's identity while the
line stands and NULL once released: its unique constraint is what makes a second claim of the same
invoice impossible, whichever claim number, tenant or connection tries it (NULLs never collide, so
released lines stay as history).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from fapiao.ledger.schema import metadata

bookings = Table(
    "bookings",
    metadata,
    Column("invoice_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, nullable=False),
    Column("voucher", String(60), nullable=False),  # 凭证号
    Column("booked_at", String(40), nullable=False),
    Column("booked_by", String(100), nullable=False),
)

claims = Table(
    "expense_claims",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("invoice_id", BigInteger, nullable=False),
    Column("tenant_id", Integer, nullable=False),
    Column("identity_key", String(48), nullable=False),
    Column("active_key", String(48), nullable=True),  # identity while claimed, NULL once released
    Column("claim_no", String(60), nullable=False),  # 报销单号
    Column("person", String(100), nullable=False),  # 报销人
    Column("claimed_at", String(40), nullable=False),
    Column("claimed_by", String(100), nullable=False),
    Column("released_at", String(40), nullable=False),  # "" while claimed
    Column("released_by", String(100), nullable=False),
    UniqueConstraint("active_key"),
    Index(None, "invoice_id"),
    Index(None, "claim_no"),
)
