"""Batches written through `WriteTx.insert_values`: on PostgreSQL from COPY_FROM_ROWS rows a COPY in
binary form, each value as its column's type; a batch whose values are of other Python types (an
int for a text column, text for a number) is sent as text instead, within the same transaction."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from fapiao.ledger import schema
from fapiao.ledger.store import COPY_FROM_ROWS, Ledger

NAMES = ("sha256", "size", "data", "created_at")


def _blob(n: int) -> tuple[bytes, str]:
    data = bytes([n % 256]) * n + b"\x00\xff"  # bytes a text form would have to escape
    return data, hashlib.sha256(data).hexdigest()


def test_a_typed_batch_and_a_loosely_typed_one_are_both_stored_as_given(ledger: Ledger) -> None:
    count = COPY_FROM_ROWS + 10
    typed = [(sha, len(data), data, "2026-12-05T00:00:00+00:00")
             for data, sha in map(_blob, range(1, count + 1))]  # fmt: skip
    loose = [(sha, str(len(data)), data, 20261205)  # a size as text, a time as a number
             for data, sha in map(_blob, range(count + 1, 2 * count + 1))]  # fmt: skip
    with ledger.write() as tx:
        tx.insert_values(schema.blobs, NAMES, typed)
        tx.insert_values(schema.blobs, NAMES, loose)
        tx.event("test.blobs", "test", 1, {"rows": 2 * count})  # the transaction goes on
    b = schema.blobs
    with ledger.engine.connect() as conn:
        rows = {r.sha256: r for r in conn.execute(select(b))}
    assert len(rows) == 2 * count
    for sha, size, data, _at in typed + loose:
        assert bytes(rows[sha].data) == data and int(rows[sha].size) == int(size)
    assert {str(rows[sha].created_at) for sha, *_ in loose} == {"20261205"}
