"""The SQL of invoice listings, written out: one statement text per query shape, values as
`:name` parameters.

The same filters give the same text, so SQLite's and psycopg's statement caches reuse the plan and
no SQL is compiled per request. Every statement carries the caller's tenant scope. Terms of three
characters or more go to the search index (SQLite FTS5 trigram `MATCH`); shorter ones and every
term on PostgreSQL are `LIKE` / `ILIKE` over the index table (pg_trgm serves those).

Builds what `ledger.listing.Listing` asks for; knows nothing of HTTP or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fapiao.ledger import listing_states
from fapiao.ledger.listing import COLUMNS, SORT_COLUMNS, Listing, period_bounds

MAX_TERMS = 8
MAX_MERGED_TENANTS = 32  # above this, one query sorts (an agency user with many companies)


@dataclass(slots=True)
class Statement:
    sql: str
    params: dict[str, Any]


NUMBER_TAIL = 8  # migration 0004a indexes the number's last eight characters
TAIL_SQL = {"postgresql": "right(i.number, 8)", "sqlite": "substr(i.number, -8)"}


def number_term(q: str | None) -> str | None:
    """A search that is one run of 8+ digits: looked up as an invoice number first."""
    found = terms(q)
    if len(found) == 1 and len(found[0]) >= NUMBER_TAIL and found[0].isascii():
        return found[0] if found[0].isdigit() else None
    return None


def terms(q: str | None) -> list[str]:
    found = [t for t in (q or "").replace("\u3000", " ").split() if t][:MAX_TERMS]
    return [t[:100] for t in found]


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Builder:
    def __init__(self, dialect: str, date: Any, driven: frozenset[str] = frozenset()) -> None:
        self.pg = dialect == "postgresql"
        self.driven = driven  # state codes read from their own table (listing_states.few)
        self.date = date  # how a date is bound: str on SQLite, date on PostgreSQL
        self.params: dict[str, Any] = {}

    def bind(self, name: str, value: Any) -> str:
        self.params[name] = value
        return f":{name}"

    def scope(
        self, tenants: frozenset[int] | None, tenant: int | str | None, col: str
    ) -> list[str]:
        if isinstance(tenant, str):
            # the CLI's words: a tenant id or a tax ID
            tax_id = self.bind("tenant_tax_id", tenant)
            by_id = self.bind(
                "tenant", int(tenant) if tenant.isdigit() and len(tenant) < 16 else -1
            )
            named = f"{col} IN (SELECT id FROM tenants WHERE tax_id = {tax_id} OR id = {by_id})"
            return [named, *self.scope(tenants, None, col)]
        if tenant is not None:
            if tenants is not None and tenant not in tenants:
                return ["1 = 0"]
            return [f"{col} = {self.bind('tenant', tenant)}"]
        if tenants is None:
            return []
        if not tenants:
            return ["1 = 0"]
        marks = ", ".join(self.bind(f"t{n}", t) for n, t in enumerate(sorted(tenants)))
        return [f"{col} IN ({marks})"]

    def filters(self, q: Listing, p: str) -> list[str]:
        """Every condition but the tenant scope; `p` is the invoices table's name in the query."""
        out: list[str] = []
        if q.period:
            start, end = period_bounds(q.period)
            out.append(
                f"{p}.issue_date BETWEEN {self.bind('start', self.date(start))} "
                f"AND {self.bind('end', self.date(end))}"
            )
        if q.date_from:
            out.append(f"{p}.issue_date >= {self.bind('from', self.date(q.date_from))}")
        if q.date_to:
            out.append(f"{p}.issue_date <= {self.bind('to', self.date(q.date_to))}")
        for col in ("direction", "kind", "status", "authority_state"):
            value = getattr(q, col)
            if value:
                out.append(f"{p}.{col} = {self.bind(col, value)}")
        if q.counterparty:
            cp = self.bind("cp", q.counterparty)
            like = self.bind("cp_like", f"%{escape_like(q.counterparty)}%")
            out.append(
                f"(({p}.direction = 'issued' AND ({p}.buyer_tax_id = {cp} OR "
                f"{p}.buyer_name LIKE {like} ESCAPE '\\')) OR ({p}.direction = 'received' AND "
                f"({p}.seller_tax_id = {cp} OR {p}.seller_name LIKE {like} ESCAPE '\\')))"
            )
        # the capabilities' states: their declared conditions name the invoices `i`
        return out + listing_states.where(q.states, self.driven)

    def seek(self, order: tuple[str, ...], desc: bool, after: tuple[Any, int] | None) -> list[str]:
        if after is None:
            return []
        value, last = after
        op = "<" if desc else ">"
        if len(order) == 1:
            return [f"{order[0]} {op} {self.bind('after_id', last)}"]
        if order[0].endswith("issue_date"):
            value = self.date(value)
        key = self.bind("after_key", value)
        return [f"({order[0]}, {order[1]}) {op} ({key}, {self.bind('after_id', last)})"]


def _order(cols: tuple[str, ...], desc: bool) -> str:
    way = " DESC" if desc else ""
    return ", ".join(c + way for c in cols)


def _selected(q: Listing, columns: tuple[str, ...]) -> tuple[str, str]:
    """(select list, LEFT JOINs): the invoice columns, then the states `q.include` asks for."""
    exprs, joins = listing_states.columns(listing_states.chosen(q.include))
    cols = ", ".join([*(f"i.{c}" for c in columns), *exprs])
    return cols, "".join(f" {j}" for j in joins)


def _paging(b: _Builder, offset: int, rows: int | None) -> str:
    if rows is None:
        return ""
    out = f" LIMIT {b.bind('rows', rows)}"
    return out + (f" OFFSET {b.bind('offset', offset)}" if offset else "")


def listing(
    q: Listing,
    tenants: frozenset[int] | None,
    *,
    dialect: str,
    date: Any,
    after: tuple[Any, int] | None,
    rows: int | None,
    by_number: bool = False,
    columns: tuple[str, ...] = COLUMNS,
    driven: frozenset[str] = frozenset(),
) -> Statement:
    """The statement for a page (`rows` = limit + 1, from `q.offset`) or, with rows None, for
    every match in order (export). `by_number`: the search term is looked up as the end of
    invoice numbers (see `number_term`) instead of in the full-text index. `columns`: the light
    row (`COLUMNS`) or the full one (`listing.DOC_COLUMNS`). `driven`: the state codes that few
    invoices are in (`listing_states.few`)."""
    b = _Builder(dialect, date, driven)
    cols, joins = _selected(q, columns)
    found = terms(q.q)
    order = SORT_COLUMNS[q.sort]
    if by_number:
        return _by_number(b, q, tenants, order, after, rows, columns)
    merge = tenants is not None and 1 < len(tenants) <= MAX_MERGED_TENANTS
    if merge and not found and q.tenant is None and rows is not None:
        assert tenants is not None
        return _merged(b, q, sorted(tenants), order, after, rows, columns)
    where = b.scope(tenants, q.tenant, "i.tenant_id") + b.filters(q, "i")
    if found and not b.pg:
        source = "invoice_fts f JOIN invoices i ON i.id = f.rowid"
        long = [t for t in found if len(t) >= 3]
        where += [
            f"f.text LIKE {b.bind(f'like{n}', f'%{escape_like(t)}%')} ESCAPE '\\'"
            for n, t in enumerate(found)
            if len(t) < 3
        ]
        if long:
            match = " AND ".join('"' + t.replace('"', '""') + '"' for t in long)
            where.append(f"f.text MATCH {b.bind('match', match)}")
        sort = ("f.rowid",) if q.sort == "recorded" else tuple(f"i.{c}" for c in order)
    elif found:
        source = "invoice_search s JOIN invoices i ON i.id = s.invoice_id"
        where += [
            f"s.text ILIKE {b.bind(f'like{n}', f'%{escape_like(t)}%')} ESCAPE '\\'"
            for n, t in enumerate(found)
        ]
        sort = tuple(f"i.{c}" for c in order)
    else:
        source = "invoices i"
        sort = tuple(f"i.{c}" for c in order)
    where += b.seek(sort, q.desc, after)
    sql = f"SELECT {cols} FROM {source}{joins}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {_order(sort, q.desc)}" + _paging(b, q.offset, rows)
    return Statement(sql, b.params)


def _number_where(b: _Builder, q: Listing, tenants: frozenset[int] | None) -> list[str]:
    term = number_term(q.q) or ""
    return [
        *b.scope(tenants, q.tenant, "i.tenant_id"),
        *b.filters(q, "i"),
        f"{TAIL_SQL['postgresql' if b.pg else 'sqlite']} = {b.bind('tail', term[-NUMBER_TAIL:])}",
        f"i.number LIKE {b.bind('suffix', '%' + escape_like(term))} ESCAPE '\\'",
    ]


def number_probe(
    q: Listing,
    tenants: frozenset[int] | None,
    *,
    dialect: str,
    date: Any,
    driven: frozenset[str] = frozenset(),
) -> Statement:
    """Whether any invoice in scope has a number ending in the search term."""
    b = _Builder(dialect, date, driven)
    where = " AND ".join(_number_where(b, q, tenants))
    return Statement(f"SELECT 1 FROM invoices i WHERE {where} LIMIT 1", b.params)


def _by_number(
    b: _Builder,
    q: Listing,
    tenants: frozenset[int] | None,
    order: tuple[str, ...],
    after: tuple[Any, int] | None,
    rows: int | None,
    columns: tuple[str, ...],
) -> Statement:
    sort = tuple(f"i.{c}" for c in order)
    where = _number_where(b, q, tenants) + b.seek(sort, q.desc, after)
    cols, joins = _selected(q, columns)
    sql = (
        f"SELECT {cols} FROM invoices i{joins} "
        f"WHERE {' AND '.join(where)} ORDER BY {_order(sort, q.desc)}"
    )
    return Statement(sql + _paging(b, q.offset, rows), b.params)


def _merged(
    b: _Builder,
    q: Listing,
    tenants: list[int],
    order: tuple[str, ...],
    after: tuple[Any, int] | None,
    rows: int,
    columns: tuple[str, ...],
) -> Statement:
    """Each tenant's first keys in index order, merged; only the page's rows are then read whole
    (skipped rows of an offset cost an index entry each, not a row)."""
    sort = tuple(f"i.{c}" for c in order)
    keys = ", ".join(f"i.{c}" for c in order) if "id" in order else "i.id"
    common = b.filters(q, "i") + b.seek(sort, q.desc, after)
    first = b.bind("first", q.offset + rows)
    parts = []
    for n, t in enumerate(tenants):
        where = " AND ".join([f"i.tenant_id = {b.bind(f't{n}', t)}", *common])
        parts.append(
            f"SELECT * FROM (SELECT {keys} FROM invoices i "
            f"WHERE {where} ORDER BY {_order(sort, q.desc)} LIMIT {first}) AS p{n}"
        )
    page = (
        f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS m "
        f"ORDER BY {_order(order, q.desc)}" + _paging(b, q.offset, rows)
    )
    cols, joins = _selected(q, columns)
    sql = (
        f"SELECT {cols} FROM ({page}) AS k "
        f"JOIN invoices i ON i.id = k.id{joins} ORDER BY {_order(tuple(f'k.{c}' for c in order), q.desc)}"
    )
    return Statement(sql, b.params)
