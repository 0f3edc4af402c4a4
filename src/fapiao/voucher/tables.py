"""Table of the voucher export (migration voucher1): a tenant's 科目 for each category.

`category` is an expense/revenue category code (fapiao.insight's table), or one of the reserved
`_tax` (进项 / 销项税额) and `_party` (应付 / 应收账款), per direction.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from fapiao.ledger.schema import metadata

accounts = Table(
    "voucher_accounts",
    metadata,
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("direction", String(10), primary_key=True),  # received / issued
    Column("category", String(40), primary_key=True),
    Column("code", String(40), nullable=False),  # 科目编码
    Column("name", String(100), nullable=False),  # 科目名称
    Column("updated_at", String(40), nullable=False),
)
