"""The rows an event describes besides the invoice row itself, checked against the chain.

- Line items and finding rows: the event that writes an invoice records `detail_hash` over them
  (`store.detail_hash`); each invoice's rows are hashed again and compared. Events written before
  that field existed carry no `detail_hash`: their invoices' rows are counted as not covered
  (`AuditReport.uncovered`) rather than reported broken, so old ledgers still verify.
- Original files: every blob is hashed again and compared with the SHA-256 it is stored under
  (and its size), in pages of bounded size so memory stays flat however large the ledger; every
  original an invoice, a quarantined input or a conflict names must be there.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select

from fapiao.findings import Finding, Severity
from fapiao.ledger import schema
from fapiao.ledger.store import FINDING_COLUMNS, LINE_COLUMNS, detail_hash

BLOB_PAGE_BYTES = 32 * 1024 * 1024  # at most this much original data is held at once
BLOB_PAGE_ROWS = 500

Report = Callable[[Finding], bool]  # adds a problem; False once there are enough


def _broken(field_: str, zh: str, en: str) -> Finding:
    return Finding("audit_broken", field_, Severity.ERROR, zh, en)


def _grouped(conn: Any, table: Any, columns: tuple[str, ...], order: list[Any]) -> Iterator[Any]:
    """(invoice_id, [row dicts]) for each invoice holding rows in `table`, by invoice id."""
    query = select(table).order_by(table.c.invoice_id, *order)
    rows = conn.execution_options(yield_per=5000).execute(query)
    for inv_id, group in itertools.groupby(rows, key=lambda r: r.invoice_id):
        yield str(inv_id), [{c: getattr(r, c) for c in columns} for r in group]


def check_details(
    conn: Any, recorded: dict[str, str], invoices: set[str], add: Report
) -> tuple[int, int]:
    """Compare every invoice's line items and findings with the `detail_hash` its event recorded.
    `recorded`: invoice id -> detail_hash; `invoices`: every invoice id an event names.
    Returns (invoices checked, invoices written before detail hashes)."""
    li, fi = schema.line_items, schema.invoice_findings
    lines = _grouped(conn, li, LINE_COLUMNS, [li.c.line_no])
    found = _grouped(conn, fi, FINDING_COLUMNS, [])
    checked = uncovered = 0
    for inv_id, mine, notes in _merged(lines, found):
        expected = recorded.pop(inv_id, None)
        if expected is None:
            if inv_id in invoices:
                uncovered += 1
                continue
            what = "明细或发现" if mine else "发现"
            if not add(
                _broken(
                    f"invoice {inv_id}",
                    f"发票 {inv_id} 的{what}记录没有对应的事件（被绕过程序插入）",
                    f"line items or findings of invoice {inv_id} have no event "
                    "(inserted behind the program's back)",
                )
            ):
                break
            continue
        checked += 1
        if detail_hash(mine, notes) != expected and not add(_changed(inv_id)):
            return checked, uncovered
    for inv_id, expected in list(recorded.items()):
        # every row of these invoices is gone: right only when the event recorded none
        checked += 1
        if detail_hash([], []) != expected and not add(_changed(inv_id)):
            break
    return checked, uncovered


def _changed(inv_id: str) -> Finding:
    return _broken(
        f"invoice {inv_id}",
        f"发票 {inv_id} 的明细或发现与其事件不符（被绕过程序修改、删除或插入）",
        f"line items or findings of invoice {inv_id} differ from its event "
        "(edited, deleted or inserted behind the program's back)",
    )


def _merged(a: Iterator[Any], b: Iterator[Any]) -> Iterator[tuple[str, list[Any], list[Any]]]:
    """Two (id, rows) streams sorted by numeric id, joined: (id, rows of a, rows of b)."""
    end = (None, [])
    x, y = next(a, end), next(b, end)
    while x[0] is not None or y[0] is not None:
        kx = int(x[0]) if x[0] is not None else None
        ky = int(y[0]) if y[0] is not None else None
        if ky is None or (kx is not None and kx < ky):
            yield x[0], x[1], []
            x = next(a, end)
        elif kx is None or ky < kx:
            yield y[0], [], y[1]
            y = next(b, end)
        else:
            yield x[0], x[1], y[1]
            x, y = next(a, end), next(b, end)


def check_blobs(conn: Any, add: Report) -> int:
    """Hash every original file again; returns how many were read. Keys are read in pages (by
    key), data in pages of at most BLOB_PAGE_BYTES (or one file, when it is larger)."""
    b = schema.blobs
    read, last = 0, ""
    while True:
        keys = conn.execute(
            select(b.c.sha256, b.c.size)
            .where(b.c.sha256 > last)
            .order_by(b.c.sha256)
            .limit(BLOB_PAGE_ROWS)
        ).all()
        if not keys:
            return read
        last = keys[-1].sha256
        for page in _pages(keys):
            query = select(b.c.sha256, b.c.size, b.c.data).where(b.c.sha256.in_(page))
            for key, size, data in conn.execute(query):
                read += 1
                if hashlib.sha256(data).hexdigest() == key and len(data) == size:
                    continue
                if not add(
                    _broken(
                        f"blob {key}",
                        f"原始文件 {key[:16]}… 的内容与其 SHA-256 不符（被绕过程序修改）",
                        f"original file {key[:16]}… does not match its SHA-256 "
                        "(edited behind the program's back)",
                    )
                ):
                    return read


def _pages(keys: list[Any]) -> Iterator[list[str]]:
    page: list[str] = []
    held = 0
    for key, size in keys:
        if page and held + size > BLOB_PAGE_BYTES:
            yield page
            page, held = [], 0
        page.append(key)
        held += max(0, int(size))
    if page:
        yield page


def check_originals_present(conn: Any, add: Report) -> None:
    """Every original file a row names is kept (a deleted blob is found even with foreign keys off)."""
    b = schema.blobs
    for table, column in (
        (schema.invoices, "original_sha256"),
        (schema.quarantine, "sha256"),
        (schema.conflicts, "sha256"),
    ):
        col = table.c[column]
        missing = select(col).where(
            col.is_not(None), ~select(b.c.sha256).where(b.c.sha256 == col).exists()
        )
        for (key,) in conn.execute(missing.distinct().limit(20)):
            if not add(
                _broken(
                    f"blob {key}",
                    f"{table.name} 记录的原始文件 {key[:16]}… 已不存在（被绕过程序删除）",
                    f"the original file {key[:16]}… named in {table.name} is gone "
                    "(deleted behind the program's back)",
                )
            ):
                return
