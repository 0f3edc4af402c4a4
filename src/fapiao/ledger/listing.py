"""What a listing of invoices asks for: one query model for `fapiao list`, `fapiao print`, the
pages and the API (filters, full-text search, sort, paging), its query-string form and its cursors.

Framework-free: the CLI and the web both build a `Listing` and hand it to `ledger.queries`
(`list_invoices`, `page`, `stream`), which run the statement `ledger.listing_sql` writes for it.
A value the user must correct is a `BadQuery` (exit 2 in the CLI, 400/422 on the web).

Paging is by offset or by keyset: a page's `next_after` cursor names the last row's sort key and id,
and the next page seeks past it in the index, so page 10,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, fields
from typing import Any

import orjson

from fapiao.findings import Refusal
from fapiao.ledger import listing_states

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

# Output columns of a light listing row, in this order (rows are tuples).
COLUMNS = (
    "id",
    "tenant_id",
    "direction",
    "kind",
    "code",
    "number",
    "issue_date",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "amount",
    "tax",
    "total",
    "status",
    "authority_state",
    "source",
    "identity_key",
)
# The columns of a full row: the canonical JSON document and what the ledger adds to it.
DOC_COLUMNS = ("id", "tenant_id", "direction", "source", "authority_state", "doc")
INDEX = {name: n for n, name in enumerate(COLUMNS)}
SORT_COLUMNS = {
    "date": ("issue_date", "id"),
    "total": ("total", "id"),
    "number": ("identity_key", "id"),
    "seller": ("seller_name", "id"),
    "buyer": ("buyer_name", "id"),
    "recorded": ("id",),
}
SORTS = SORT_COLUMNS


class BadQuery(Refusal, ValueError):
    """A filter value the user must correct (shown to them, never a crash); `zh` says why in
    Chinese (the message itself is English)."""

    usage = True

    def __init__(self, en: str, zh: str | None = None) -> None:
        super().__init__(Refusal.said("bad_filter", zh or en, en))

    def __str__(self) -> str:
        return self.en


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """'2024-11' -> (2024-11-01, 2024-11-30); '2024' -> the whole year."""
    parts = period.split("-")
    year = int(parts[0])
    if len(parts) == 1:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(parts[1])
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


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
class Listing:
    """Which invoices, in which order, which page; each None means 'any'.

    `tenant` is a tenant id (int), or in the CLI's words a tenant id or tax ID (str)."""

    tenant: int | str | None = None
    period: str | None = None  # YYYY-MM or YYYY
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    direction: str | None = None
    kind: str | None = None
    status: str | None = None
    authority_state: str | None = None
    counterparty: str | None = None  # tax ID or part of the name
    q: str | None = None  # full-text: parties, tax IDs, numbers, item names
    sort: str = "date"
    desc: bool = True
    offset: int = 0
    limit: int = 50
    after: str | None = None  # keyset cursor: `next_after` of the previous page
    # the capabilities' states (`listing_states`): filter codes (`booked`, `unclaimed`) and the
    # states shown as columns (`booking`, `claim`; "all")
    states: tuple[str, ...] = ()
    include: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.states or self.include:  # the hot page asks for neither
            self._check_states()
        check_text("q", self.q)
        check_text("counterparty", self.counterparty)
        if isinstance(self.tenant, str):
            check_text("tenant", self.tenant)
        if self.sort not in SORT_COLUMNS:
            raise BadQuery(f"sort: {self.sort!r}")
        if self.after is not None:
            decode_cursor(self.after, self)  # raises BadQuery when it does not fit

    def _check_states(self) -> None:
        for code in (*self.states, *self.include):
            check_text("state", code)
        wrong = listing_states.unknown(self.states)
        if wrong:
            known = ", ".join(listing_states.codes())
            raise BadQuery(
                f"state: {wrong[0]!r}; one of {known}", f"状态无效：{wrong[0]}；可用 {known}"
            )
        names = (*listing_states.names(), "all")
        wrong = [n for n in self.include if n not in names]
        if wrong:
            raise BadQuery(f"include: {wrong[0]!r}; one of {', '.join(names)}")

    @classmethod
    def from_params(cls, params: Any) -> Listing:
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
                states=many(params, "state"),
                include=many(params, "include"),
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
            if isinstance(value, tuple):
                value = ",".join(value)
            if value is None or value == "" or (f.name == "offset" and not value):
                continue
            key = {"date_from": "from", "date_to": "to", "desc": "order", "states": "state"}.get(
                f.name, f.name
            )
            if f.name == "desc":
                value = "desc" if value else "asc"
            out[key] = str(value)
        return out


def many(params: Any, name: str) -> tuple[str, ...]:
    """A repeated or comma-separated parameter (`state=booked&state=unclaimed`, `state=a,b`)."""
    raw = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
    found = [p.strip() for v in raw if isinstance(v, str) for p in v.split(",")]
    return tuple(dict.fromkeys(p for p in found if p))


def default_sort(q: str | None) -> str:
    """Newest recorded first when searching (the index yields ids in order, so a page of hits
    needs no sort of all of them); by issue date otherwise."""
    return "recorded" if q and q.strip() else "date"


def encode_cursor(q: Listing, row: tuple[Any, ...]) -> str:
    """The cursor that continues after `row` in `q`'s order (URL-safe, opaque to clients)."""
    cols = SORT_COLUMNS[q.sort]
    value = row[INDEX[cols[0]]] if len(cols) > 1 else None
    if isinstance(value, dt.date):
        value = value.isoformat()
    raw = orjson.dumps([q.sort, int(q.desc), value, int(row[INDEX["id"]])])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, q: Listing) -> tuple[Any, int]:
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
