"""Finding invoices by the keys people type: the ledger id, the 发票号码, or 发票代码-发票号码.

The same invoice can sit in two tenants' books (issued by one, received by the other), so a key may
name several rows; a caller that acts for one tenant passes it and gets at most one row per key.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from fapiao.ledger import schema

inv = schema.invoices
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def valid_period(text: str) -> bool:
    """A 税款所属期 or month as YYYY-MM."""
    return bool(PERIOD.match(text or ""))


def tenant_id_of(conn: Connection, ref: str | int | None) -> int | None:
    """A tenant by id or 纳税人识别号; None when no such tenant."""
    if ref is None or str(ref).strip() == "":
        return None
    text = str(ref).strip()
    t = schema.tenants
    cond = t.c.tax_id == text.upper()
    if text.isdigit() and len(text) < 10:
        cond = or_(cond, t.c.id == int(text))
    return conn.execute(select(t.c.id).where(cond)).scalar()


def resolve(
    conn: Connection, keys: list[str], *, tenant_id: int | None = None
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """key -> the invoice rows it names (in `tenant_id` when given), and the keys naming none."""
    found: dict[str, list[dict[str, Any]]] = {}
    missing: list[str] = []
    for key in keys:
        ref = key.strip()
        cond = inv.c.identity_key == ref
        if ref.isdigit() and len(ref) < 16:
            cond = or_(inv.c.id == int(ref), cond)
        query = select(inv).where(cond).order_by(inv.c.id)
        if tenant_id is not None:
            query = query.where(inv.c.tenant_id == tenant_id)
        rows = [dict(r._mapping) for r in conn.execute(query)]
        if rows:
            found[key] = rows
        else:
            missing.append(key)
    return found, missing
