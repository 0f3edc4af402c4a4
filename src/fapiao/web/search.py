"""Invoice listings for pages and the API: tenant scope, filters, full-text search, sort, paging.

Every query here takes the user's tenant scope; nothing reads invoices without it. The search
index (migration 0004) is an FTS5 trigram table on SQLite, a pg_trgm-indexed side table on
PostgreSQL; new invoices enter it through `ledger.search_index.catch_up`. Terms of three characters or more use the index; shorter ones scan it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine, and_, column, false, or_, select, table
from sqlalchemy.engine import Connection

from fapiao.ledger import schema, search_index
from fapiao.ledger.queries import period_bounds
from fapiao.money import format_fen

inv = schema.invoices

SORTS = {
    "date": (inv.c.issue_date, inv.c.id),
    "total": (inv.c.total, inv.c.id),
    "number": (inv.c.identity_key, inv.c.id),
    "seller": (inv.c.seller_name, inv.c.id),
    "buyer": (inv.c.buyer_name, inv.c.id),
    "recorded": (inv.c.id,),
}
DIRECTIONS = ("issued", "received")
STATUSES = ("normal", "red", "void")
AUTHORITY_STATES = ("local", "queued", "uploaded", "confirmed", "missing", "mismatch")
KINDS = (
    "digital_special",
    "digital_normal",
    "vat_electronic_special",
    "vat_electronic_normal",
    "vat_special",
    "vat_normal",
    "other",
)
MAX_LIMIT = 200
MAX_TERMS = 8

COLUMNS = (
    inv.c.id,
    inv.c.tenant_id,
    inv.c.direction,
    inv.c.kind,
    inv.c.code,
    inv.c.number,
    inv.c.issue_date,
    inv.c.seller_name,
    inv.c.seller_tax_id,
    inv.c.buyer_name,
    inv.c.buyer_tax_id,
    inv.c.amount,
    inv.c.tax,
    inv.c.total,
    inv.c.status,
    inv.c.authority_state,
    inv.c.source,
)


class BadQuery(ValueError):
    """A filter value the user must correct (shown to them, never a crash)."""


@dataclass(frozen=True, slots=True)
class Query:
    tenant: int | None = None
    period: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    direction: str | None = None
    kind: str | None = None
    status: str | None = None
    authority_state: str | None = None
    counterparty: str | None = None
    q: str | None = None
    sort: str = "date"
    desc: bool = True
    offset: int = 0
    limit: int = 50

    @classmethod
    def from_params(cls, params: Any) -> Query:
        """From query-string values (strings, '' meaning none); raises BadQuery."""

        def get(name: str) -> str | None:
            value = params.get(name)
            return value.strip() or None if isinstance(value, str) else None

        try:
            tenant = get("tenant")
            period = get("period")
            if period:
                period_bounds(period)
            q = cls(
                tenant=int(tenant) if tenant else None,
                period=period,
                date_from=dt.date.fromisoformat(get("from") or "") if get("from") else None,
                date_to=dt.date.fromisoformat(get("to") or "") if get("to") else None,
                direction=_one_of(get("direction"), DIRECTIONS, "direction"),
                kind=_one_of(get("kind"), KINDS, "kind"),
                status=_one_of(get("status"), STATUSES, "status"),
                authority_state=_one_of(get("authority_state"), AUTHORITY_STATES, "state"),
                counterparty=get("counterparty"),
                q=get("q"),
                sort=_one_of(get("sort"), tuple(SORTS), "sort") or default_sort(get("q")),
                desc=(get("order") or "desc") != "asc",
                offset=max(0, min(int(get("offset") or 0), 10_000_000)),
                limit=max(1, min(int(get("limit") or 50), MAX_LIMIT)),
            )
        except (ValueError, OverflowError) as exc:
            raise BadQuery(str(exc)) from exc
        return q

    def params(self, **changes: Any) -> dict[str, str]:
        """The query-string form, for links (paging, sorting, export)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = changes.get(f.name, getattr(self, f.name))
            if value is None or value == "" or (f.name == "offset" and not value):
                continue
            key = {"date_from": "from", "date_to": "to", "desc": "order"}.get(f.name, f.name)
            if f.name == "desc":
                value = "desc" if value else "asc"
            out[key] = str(value)
        return out


def default_sort(q: str | None) -> str:
    """Newest recorded first when searching (the index yields ids in order, so a page of hits
    needs no sort of all of them); by issue date otherwise."""
    return "recorded" if q and q.strip() else "date"


def _one_of(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value is not None and value not in allowed:
        raise BadQuery(f"{name}: {value!r}")
    return value


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


def _conditions(q: Query, tenants: frozenset[int] | None) -> list[Any]:
    conds: list[Any] = []
    scope = scope_condition(tenants, q.tenant)
    if scope is not None:
        conds.append(scope)
    if q.period:
        start, end = period_bounds(q.period)
        conds.append(inv.c.issue_date.between(start, end))
    if q.date_from:
        conds.append(inv.c.issue_date >= q.date_from)
    if q.date_to:
        conds.append(inv.c.issue_date <= q.date_to)
    for col, value in (
        (inv.c.direction, q.direction),
        (inv.c.kind, q.kind),
        (inv.c.status, q.status),
        (inv.c.authority_state, q.authority_state),
    ):
        if value:
            conds.append(col == value)
    if q.counterparty:
        cp, like = q.counterparty, f"%{_escape_like(q.counterparty)}%"
        conds.append(
            or_(
                and_(
                    inv.c.direction == "issued",
                    or_(inv.c.buyer_tax_id == cp, inv.c.buyer_name.like(like, escape="\\")),
                ),
                and_(
                    inv.c.direction == "received",
                    or_(inv.c.seller_tax_id == cp, inv.c.seller_name.like(like, escape="\\")),
                ),
            )
        )
    return conds


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _terms(q: str) -> list[str]:
    terms = [t for t in q.replace("\u3000", " ").split() if t][:MAX_TERMS]
    return [t[:100] for t in terms]


FTS = table("invoice_fts", column("rowid"), column("text"))  # SQLite FTS5 (trigram)
SIDE = table("invoice_search", column("invoice_id"), column("text"))  # PostgreSQL, pg_trgm


def _searched(conn: Connection, stmt: Any, terms: list[str]) -> Any:
    """Drives the query from the search index: the index finds the ids, the invoices join on."""
    if conn.engine.dialect.name == "postgresql":
        conds = [SIDE.c.text.ilike(f"%{_escape_like(t)}%", escape="\\") for t in terms]
        return stmt.select_from(SIDE.join(inv, inv.c.id == SIDE.c.invoice_id)).where(*conds)
    long = [t for t in terms if len(t) >= 3]
    conds = [FTS.c.text.like(f"%{_escape_like(t)}%", escape="\\") for t in terms if len(t) < 3]
    if long:
        match = " AND ".join('"' + t.replace('"', '""') + '"' for t in long)
        conds.append(FTS.c.text.op("MATCH")(match))
    return stmt.select_from(FTS.join(inv, inv.c.id == FTS.c.rowid)).where(*conds)


def _select(conn: Connection, q: Query, tenants: frozenset[int] | None) -> Any:
    stmt = select(*COLUMNS).where(*_conditions(q, tenants))
    terms = _terms(q.q) if q.q else []
    order = SORTS[q.sort]
    if terms:
        stmt = _searched(conn, stmt, terms)
        if q.sort == "recorded" and conn.engine.dialect.name != "postgresql":
            order = (FTS.c.rowid,)
    return stmt.order_by(*[c.desc() if q.desc else c.asc() for c in order])


CATCH_UP_PER_SEARCH = 20_000  # a search indexes at most this many new invoices before it runs


def _index_recent(engine: Engine, q: Query) -> None:
    """Invoices recorded by another process since the last search become searchable first."""
    if q.q:
        search_index.catch_up(engine, limit=CATCH_UP_PER_SEARCH)


def page(
    engine: Engine, q: Query, tenants: frozenset[int] | None
) -> tuple[list[dict[str, Any]], bool]:
    """One page of matching invoices (light rows) and whether there is a next page."""
    _index_recent(engine, q)
    with engine.connect() as conn:
        stmt = _select(conn, q, tenants).offset(q.offset).limit(q.limit + 1)
        rows = [public_row(r) for r in conn.execute(stmt)]
    return rows[: q.limit], len(rows) > q.limit


def stream(engine: Engine, q: Query, tenants: frozenset[int] | None) -> Iterator[dict[str, Any]]:
    """Every matching invoice (for export), in the query's order, without paging."""
    _index_recent(engine, q)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=2000).execute(_select(conn, q, tenants)):
            yield public_row(row)


def public_row(r: Any) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "tenant_id": r.tenant_id,
        "direction": r.direction,
        "kind": r.kind,
        "code": r.code,
        "number": r.number,
        "issue_date": r.issue_date.isoformat()
        if isinstance(r.issue_date, dt.date)
        else str(r.issue_date),
        "seller": {"name": r.seller_name, "tax_id": r.seller_tax_id},
        "buyer": {"name": r.buyer_name, "tax_id": r.buyer_tax_id},
        "amount": format_fen(r.amount),
        "tax": format_fen(r.tax),
        "total": format_fen(r.total),
        "status": r.status,
        "authority_state": r.authority_state,
        "source": r.source,
    }


def visible_invoice(engine: Engine, invoice_id: int, tenants: frozenset[int] | None) -> Any:
    """The invoice row when the user may see it, else None (no difference between absent and
    forbidden, so ids of other tenants cannot be probed)."""
    with engine.connect() as conn:
        stmt = select(inv).where(inv.c.id == invoice_id)
        scope = scope_condition(tenants)
        if scope is not None:
            stmt = stmt.where(scope)
        return conn.execute(stmt).first()
