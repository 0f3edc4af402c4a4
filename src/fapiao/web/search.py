"""Invoice listings for pages and the API: tenant scope, filters, full-text search, sort, paging.

Every query here takes the user's tenant scope; nothing reads invoices without it. The search
index (migration 0004) is an FTS5 trigram table on SQLite, a pg_trgm-indexed side table on
PostgreSQL; new invoices enter it through `ledger.search_index.catch_up`. Terms of three characters
or more use the index; shorter ones scan it.

Paging is by offset or by keyset: a page's `next_after` cursor names the last row's sort key and id,
and the next page seeks past it in the index, so page 10,000 costs what page 1 does. A listing over
several granted tenants reads each tenant's first rows from the `(tenant_id, issue_date, id)` index
and merges them, rather than sorting every row of every tenant.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

import orjson
from sqlalchemy import Engine, false, select
from sqlalchemy.exc import DBAPIError

from fapiao.ledger import schema, search_index
from fapiao.ledger.queries import period_bounds
from fapiao.money import format_fen
from fapiao.web import listing_sql, reads
from fapiao.web.listing_sql import INDEX, SORT_COLUMNS

SORTS = SORT_COLUMNS

inv = schema.invoices

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


class BadQuery(ValueError):
    """A filter value the user must correct (shown to them, never a crash); `zh` says why in
    Chinese (the message itself is English)."""

    def __init__(self, en: str, zh: str | None = None) -> None:
        super().__init__(en)
        self.zh = zh or en


# C0 and C1 control characters but the tab: a NUL in a term breaks PostgreSQL's text, and none
# of them belongs in a name, a number or an item.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def check_text(name: str, value: str | None) -> None:
    """Refuses a search or filter term that carries a control character (BadQuery)."""
    if value is not None and _CONTROLS.search(value):
        raise BadQuery(
            f"{name}: contains a control character (such as NUL); remove it",
            f"{name}：含有控制字符（如 NUL），请删除后重试",
        )


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
    after: str | None = None  # keyset cursor: `next_after` of the previous page

    def __post_init__(self) -> None:
        check_text("q", self.q)
        check_text("counterparty", self.counterparty)
        if self.after is not None:
            decode_cursor(self.after, self)  # raises BadQuery when it does not fit

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
                after=get("after"),
            )
        except BadQuery:
            raise
        except (ValueError, OverflowError) as exc:
            raise BadQuery(str(exc)) from exc
        return q

    def params(self, **changes: Any) -> dict[str, str]:
        """The query-string form, for links (paging, sorting, export)."""
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "after" and "after" not in changes:
                continue  # a cursor belongs to one order and position: links start afresh
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


def encode_cursor(q: Query, row: tuple[Any, ...]) -> str:
    """The cursor that continues after `row` in `q`'s order (URL-safe, opaque to clients)."""
    cols = SORT_COLUMNS[q.sort]
    value = row[INDEX[cols[0]]] if len(cols) > 1 else None
    if isinstance(value, dt.date):
        value = value.isoformat()
    raw = orjson.dumps([q.sort, int(q.desc), value, int(row[INDEX["id"]])])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, q: Query) -> tuple[Any, int]:
    """(sort value, id) of a cursor made for the same sort and order; BadQuery otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort, desc, value, last = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise BadQuery("after: not a cursor from this listing") from exc
    if sort != q.sort or desc != int(q.desc):
        raise BadQuery("after: the cursor belongs to another sort order")
    if not isinstance(last, int) or not 0 <= last < 2**63:
        raise BadQuery("after: bad id")
    cols = SORT_COLUMNS[q.sort]
    key = cols[0] if len(cols) > 1 else None
    try:
        if key == "issue_date":
            value = dt.date.fromisoformat(value)
        elif key == "total":
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**62:
                raise ValueError(value)
        elif key is None:
            if value is not None:
                raise ValueError(value)
        elif not isinstance(value, str) or len(value) > 400:
            raise ValueError(value)
    except (TypeError, ValueError) as exc:
        raise BadQuery("after: bad sort value") from exc
    return value, last


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


CATCH_UP_PER_SEARCH = 20_000  # a search indexes at most this many new invoices before it runs


BEHIND = (
    "SELECT (SELECT max(id) FROM invoices) > (SELECT last_id FROM search_index_mark WHERE id = 1)"
)


QUICK_OFFSET = 2000


def is_quick(engine: Engine, q: Query) -> bool:
    """Whether the page is an index-bounded read of a local SQLite file (well under a millisecond
    or two): the default or recorded order from the index, search terms the index answers, no
    pending indexing. Such a page may be read on the event loop; any other (a sort of every row,
    a scan for a short term or a counterparty, a deep offset, PostgreSQL over the network) belongs
    in a worker thread."""
    if not reads.uses_thread_connections(engine):
        return False
    if q.sort not in ("date", "recorded") or q.counterparty or q.offset > QUICK_OFFSET:
        return False
    if not q.q:
        return True
    if not listing_sql.number_term(q.q) and any(len(t) < 3 for t in listing_sql.terms(q.q)):
        return False
    return not _behind(engine)


def _behind(engine: Engine) -> bool:
    try:
        return bool(reads.fetch(engine, BEHIND, {})[0][0])
    except (DBAPIError, sqlite3.Error):  # no index table (an old schema): catch_up knows
        return True


def _index_recent(engine: Engine, q: Query) -> None:
    """Invoices recorded by another process since the last search become searchable first. A read
    (two index lookups) decides; only then does the indexing take the write lock."""
    if q.q and _behind(engine):
        search_index.catch_up(engine, limit=CATCH_UP_PER_SEARCH)


def _statement(
    engine: Engine,
    q: Query,
    tenants: frozenset[int] | None,
    rows: int | None,
    by_number: bool | None = None,
) -> listing_sql.Statement:
    """The statement for `q`; for a search that looks like an invoice number, `by_number` says
    whether the number index answers (None: probe for it)."""
    dialect = engine.dialect.name
    date = (lambda d: d) if dialect == "postgresql" else dt.date.isoformat
    if not listing_sql.number_term(q.q):
        by_number = False
    elif by_number is None:
        # an invoice number (or its tail): the number index answers when any number ends so;
        # otherwise (a tax ID, digits inside a number) the full-text index does
        probe = listing_sql.number_probe(q, tenants, dialect=dialect, date=date)
        by_number = bool(reads.fetch(engine, probe.sql, probe.params))
    return listing_sql.listing(
        q,
        tenants,
        dialect=dialect,
        date=date,
        after=decode_cursor(q.after, q) if q.after else None,
        rows=rows,
        by_number=by_number,
    )


def page(
    engine: Engine, q: Query, tenants: frozenset[int] | None, *, index_checked: bool = False
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of matching invoices (light rows) and the cursor of the next page (None: last).
    `index_checked`: the caller has just seen the search index up to date (`is_quick`)."""
    if not index_checked:
        _index_recent(engine, q)
    found: list[Any] = []
    first = q.after is None and not q.offset
    if first and listing_sql.number_term(q.q):
        # the first page of a number search: its rows answer the probe's question too
        stmt = _statement(engine, q, tenants, q.limit + 1, by_number=True)
        found = reads.fetch(engine, stmt.sql, stmt.params)
        if not found:
            stmt = _statement(engine, q, tenants, q.limit + 1, by_number=False)
            found = reads.fetch(engine, stmt.sql, stmt.params)
    else:
        stmt = _statement(engine, q, tenants, q.limit + 1)
        found = reads.fetch(engine, stmt.sql, stmt.params)
    more = len(found) > q.limit
    found = found[: q.limit]
    return [public_row(r) for r in found], encode_cursor(q, found[-1]) if more else None


def stream(engine: Engine, q: Query, tenants: frozenset[int] | None) -> Iterator[dict[str, Any]]:
    """Every matching invoice (for export), in the query's order, without paging."""
    _index_recent(engine, q)
    stmt = _statement(engine, q, tenants, None)
    with reads.streamed(engine, stmt.sql, stmt.params) as rows:
        for row in rows:
            yield public_row(row)


def public_row(r: tuple[Any, ...]) -> dict[str, Any]:
    """A listing row (columns in `listing_sql.COLUMNS` order) in the API's shape."""
    day = r[6]
    return {
        "id": str(r[0]),
        "tenant_id": r[1],
        "direction": r[2],
        "kind": r[3],
        "code": r[4],
        "number": r[5],
        "issue_date": day if isinstance(day, str) else day.isoformat(),
        "seller": {"name": r[7], "tax_id": r[8]},
        "buyer": {"name": r[9], "tax_id": r[10]},
        "amount": format_fen(r[11]),
        "tax": format_fen(r[12]),
        "total": format_fen(r[13]),
        "status": r[14],
        "authority_state": r[15],
        "source": r[16],
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
