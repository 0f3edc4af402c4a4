"""What the web adds to the ledger's listings (`ledger.listing`, `ledger.queries`): which pages
may be read on the event loop, and the tenant scope of single-invoice reads.

Every query here takes the user's tenant scope; nothing reads invoices without it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, false, select

from fapiao.ledger import listing_sql, queries, reads, schema
from fapiao.ledger.listing import Listing

inv = schema.invoices

QUICK_OFFSET = 2000


def is_quick(engine: Engine, q: Listing) -> bool:
    """Whether the page is an index-bounded read of a local SQLite file (well under a millisecond
    or two): the default or recorded order from the index, search terms the index answers, no
    pending indexing. Such a page may be read on the event loop; any other (a sort of every row,
    a scan for a short term or a counterparty, a deep offset, PostgreSQL over the network) belongs
    in a worker thread, as does a page filtered on a capability's state."""
    if not reads.uses_thread_connections(engine):
        return False
    if q.sort not in ("date", "recorded") or q.counterparty or q.offset > QUICK_OFFSET:
        return False
    if q.states:
        return False  # a rare state may be probed on many rows before a page fills

    if not q.q:
        return True
    if not listing_sql.number_term(q.q) and any(len(t) < 3 for t in listing_sql.terms(q.q)):
        return False
    return not queries.index_behind(engine)


def scope_condition(tenants: frozenset[int] | None, tenant: int | None = None) -> Any:
    """The tenant part of every invoice query: granted tenants (None = all), maybe narrowed to one."""
    if tenant is not None:
        if tenants is not None and tenant not in tenants:
            return false()
        return inv.c.tenant_id == tenant
    if tenants is None:
        return None
    if not tenants:
        return false()
    return inv.c.tenant_id.in_(sorted(tenants))


def visible_invoice(engine: Engine, invoice_id: int, tenants: frozenset[int] | None) -> Any:
    """The invoice row when the user may see it, else None (no difference between absent and
    forbidden, so ids of other tenants cannot be probed)."""
    with engine.connect() as conn:
        stmt = select(inv).where(inv.c.id == invoice_id)
        scope = scope_condition(tenants)
        if scope is not None:
            stmt = stmt.where(scope)
        return conn.execute(stmt).first()
