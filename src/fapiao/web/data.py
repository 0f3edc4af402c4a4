"""What the pages and the API read and write, tenant-scoped: dashboard figures, one invoice in
full, its original file, imports of uploaded files, exports."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from fapiao import sheets, vocabulary
from fapiao.auth.users import User
from fapiao.findings import finding
from fapiao.ingest import Incoming, Source, Summary, after_import, to_incoming
from fapiao.ledger import listing_states, schema
from fapiao.ledger.flat_rows import COLUMNS, flat
from fapiao.ledger.imports import import_batch
from fapiao.ledger.queries import find_invoice
from fapiao.ledger.store import Ledger
from fapiao.parse import MAX_FILE_BYTES, Parsed
from fapiao.validate import Context
from fapiao.web import parsing
from fapiao.web.search import scope_condition, visible_invoice

inv = schema.invoices
SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def month_summary(engine: Engine, user: User, month: dt.date) -> dict[str, dict[str, int]]:
    """direction -> {count, total (fen)} for invoices dated in the month of `month`."""
    start = month.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    out = {d: {"count": 0, "total": 0} for d in ("issued", "received")}
    with engine.connect() as conn:
        stmt = (
            select(inv.c.direction, func.count(), func.coalesce(func.sum(inv.c.total), 0))
            .where(inv.c.issue_date >= start, inv.c.issue_date < end)
            .group_by(inv.c.direction)
        )
        scope = scope_condition(user.tenants)
        if scope is not None:
            stmt = stmt.where(scope)
        for direction, count, total in conn.execute(stmt):
            out[direction] = {"count": int(count), "total": int(total)}
    return out


def months_back(month: dt.date, n: int) -> list[dt.date]:
    out, cur = [], month.replace(day=1)
    for _ in range(n):
        out.append(cur)
        cur = (cur - dt.timedelta(days=1)).replace(day=1)
    return out[::-1]


def authority_states(engine: Engine, user: User) -> dict[str, int]:
    with engine.connect() as conn:
        stmt = select(inv.c.authority_state, func.count()).group_by(inv.c.authority_state)
        scope = scope_condition(user.tenants)
        if scope is not None:
            stmt = stmt.where(scope)
        return {state: int(n) for state, n in conn.execute(stmt)}


def latest_month(engine: Engine, user: User) -> dt.date | None:
    with engine.connect() as conn:
        stmt = select(func.max(inv.c.issue_date))
        scope = scope_condition(user.tenants)
        if scope is not None:
            stmt = stmt.where(scope)
        value = conn.scalar(stmt)
    if value is None:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def invoice_detail(engine: Engine, user: User, invoice_id: int) -> dict[str, Any] | None:
    """The invoice in full (fields, items, findings, conflicts, events), or None when the user may
    not see it."""
    row = visible_invoice(engine, invoice_id, user.tenants)
    if row is None:
        return None
    found = find_invoice(engine, str(invoice_id))
    if found is None or found.get("id") != str(invoice_id):
        return None
    found["tenant_id"] = row.tenant_id
    return found


def original(engine: Engine, user: User, invoice_id: int) -> tuple[str, bytes] | None:
    row = visible_invoice(engine, invoice_id, user.tenants)
    if row is None or not row.original_sha256:
        return None
    with engine.connect() as conn:
        data = conn.scalar(
            select(schema.blobs.c.data).where(schema.blobs.c.sha256 == row.original_sha256)
        )
    return (row.original_name, bytes(data)) if data is not None else None


def content_type(data: bytes) -> tuple[str, bool]:
    """(media type, shown as text): by content, never by file name. Anything that a browser could
    run (HTML, SVG, XML with scripts) is served as plain text."""
    head = data[:512].lstrip()
    if data.startswith(b"%PDF"):
        return "application/pdf", False
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", False
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", False
    if data.startswith(b"PK\x03\x04"):
        return "application/zip", False
    if head.startswith((b"{", b"[")):
        return "application/json", True
    try:
        data[:4096].decode("utf-8")
        return "text/plain; charset=utf-8", True
    except UnicodeDecodeError:
        return "application/octet-stream", False


def import_uploads(
    ledger: Ledger, user: User, files: Iterable[tuple[str, bytes | None]]
) -> Summary:
    """Uploaded files into the ledger through the ingest path, for the user's tenants only."""
    allowed = {tax_id: tid for tax_id, tid in ledger.tenants().items() if user.sees(tid)}
    batch = [item for items in _incoming(files) for item in items]
    summary = Summary()
    for outcome in import_batch(ledger, allowed, batch) if batch else []:
        summary.add(outcome)
    after_import(ledger, summary.imported, ledger.actor)  # searchable at once; 查验 on receipt
    return summary


def _too_large(name: str) -> Source:
    return Source(
        name,
        b"",
        Parsed(
            None,
            [
                finding(
                    "too_large",
                    detail=f"超过 {MAX_FILE_BYTES} 字节",
                    detail_en=f"> {MAX_FILE_BYTES} bytes",
                )
            ],
        ),
    )


def _incoming(files: Iterable[tuple[str, bytes | None]]) -> list[list[Incoming]]:
    """Each upload's inputs, validated, in the order given: those the native parsers read (PDF,
    OFD, pictures, archives) in the server's parser process (`parsing`), the rest here."""
    sources = [Source(name, data) if data is not None else _too_large(name) for name, data in files]
    native = [parsing.native(source) for source in sources]
    read = iter(parsing.UPLOADS.incoming([s for s, n in zip(sources, native, strict=True) if n]))
    ctx = Context()
    return [next(read) if n else to_incoming(s, ctx) for s, n in zip(sources, native, strict=True)]


def parse_uploads(files: Iterable[tuple[str, bytes | None]]) -> list[dict[str, Any]]:
    from fapiao.codec import invoice_to_json

    results = []
    for items in _incoming(files):
        for item in items:
            doc: dict[str, Any] = invoice_to_json(item.invoice) if item.invoice else {}
            doc["file"] = item.file
            doc["findings"] = [f.to_json() for f in item.findings]
            results.append(doc)
    return results


def _header(lang: str) -> list[str]:
    """The invoice columns, then the capabilities' states (when the rows carry them)."""
    extra = listing_states.export_columns()
    return vocabulary.headers(COLUMNS, lang) + [c[2 if lang == "en" else 1] for c in extra]


def _cells(row: dict[str, Any], lang: str, numbers: bool = False) -> list[Any]:
    base = vocabulary.export_cells(COLUMNS, flat(row), lang, numbers=numbers)
    return base + listing_states.export_cells(row, lang)


def csv_chunks(rows: Iterator[dict[str, Any]], lang: str = "zh") -> Iterator[bytes]:
    """The list as CSV: Chinese headers and words for a person; `lang="en"` keeps the field names and
    codes (the API's machine form). The states' columns are empty for rows listed without them."""
    return sheets.csv_chunks(_header(lang), (_cells(row, lang) for row in rows))


def xlsx_bytes(rows: Iterator[dict[str, Any]], lang: str = "zh") -> bytes:
    """The list as xlsx: as the CSV, with amounts as numeric cells (yuan, two decimals)."""
    cells = (_cells(row, lang, numbers=True) for row in rows)
    return sheets.xlsx_bytes("发票 invoices", _header(lang), cells)


def recent_events(engine: Engine, user: User, limit: int = 50) -> list[dict[str, Any]]:
    ev = schema.events
    with engine.connect() as conn:
        stmt = select(
            ev.c.seq, ev.c.ts, ev.c.actor, ev.c.action, ev.c.entity, ev.c.entity_id, ev.c.tenant_id
        )
        if user.tenants is not None:
            stmt = stmt.where(ev.c.tenant_id.in_(sorted(user.tenants) or [-1]))
        rows = conn.execute(stmt.order_by(ev.c.seq.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
