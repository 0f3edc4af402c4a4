"""Reading a consistent snapshot of the ledger as segments (see plans.py for how tables are cut).

A segment's plain form is a JSON array of rows (values as the database gives them, normalised so
that SQLite and PostgreSQL produce the same bytes: dates as ISO text, bytes as base64, booleans as
JSON booleans). Rows are in key order; where that order is not total and engine-independent they
are sorted in Python, so the same rows always give the same bytes and the same chunk names.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import zstandard
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    Time,
    column,
    inspect,
    select,
    table,
)
from sqlalchemy.engine import Connection
from sqlalchemy.types import _Binary

from fapiao import tables
from fapiao.backup.plans import RECENT_SLACK, Plan, plan_for
from fapiao.ledger import schema

SEGMENT_ROWS = 4096
SEGMENT_BYTES = 8 * 2**20  # of binary payload (original files) in one segment
CHUNK_BYTES = 4 * 2**20
FOLD_FRACTION = 0.05  # patches beyond this share of a table's rows are folded into segments
FETCH = 2000
EXTRA_TABLES = ("alembic_version",)


def column_tag(type_: Any) -> str:
    if isinstance(type_, LargeBinary | _Binary):
        return "bytes"
    if isinstance(type_, DateTime):
        return "datetime"
    if isinstance(type_, Date):
        return "date"
    if isinstance(type_, Time):
        return "time"
    if isinstance(type_, Boolean):
        return "bool"
    if isinstance(type_, Float):
        return "float"
    if isinstance(type_, Numeric):
        return "decimal"
    if isinstance(type_, Integer | BigInteger | SmallInteger):
        return "int"
    return "raw"


def _iso(v: Any) -> Any:
    return v if isinstance(v, str) else v.isoformat()


def _datetime(v: Any) -> Any:
    return (dt.datetime.fromisoformat(v) if isinstance(v, str) else v).isoformat()


def _bytes(v: Any) -> Any:
    return base64.b64encode(bytes(v)).decode("ascii")


NORMALISE: dict[str, Callable[[Any], Any]] = {
    "bytes": _bytes,
    "date": _iso,
    "time": _iso,
    "datetime": _datetime,
    "bool": bool,
    "decimal": str,
    "float": float,
}


def _default(o: Any) -> Any:
    if isinstance(o, dt.date | dt.time):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, bytes | memoryview):
        return _bytes(o)
    raise TypeError(f"cannot encode {type(o).__name__}")


def encode_rows(rows: list[Any]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_default).encode()


@dataclass(slots=True)
class NewSegment:
    lo: Any
    rows: int
    sha: str
    size: int
    body: bytes  # zstd of the plain form

    def pieces(self) -> list[bytes]:
        return [self.body[i : i + CHUNK_BYTES] for i in range(0, len(self.body), CHUNK_BYTES)] or [
            b""
        ]

    def record(self, chunks: list[str]) -> dict[str, Any]:
        return {
            "lo": self.lo,
            "rows": self.rows,
            "sha": self.sha,
            "size": self.size,
            "chunks": chunks,
        }


@dataclass(slots=True)
class NewPatch(NewSegment):
    """The current rows of some keys inside kept segments (changed since the parent)."""

    keys: list[Any] = field(default_factory=list)

    def record(self, chunks: list[str]) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "rows": self.rows,
            "sha": self.sha,
            "size": self.size,
            "chunks": chunks,
        }


@dataclass(slots=True)
class Kept:
    index: int  # position in the parent's segment list


@dataclass(slots=True)
class KeptPatch:
    index: int  # position in the parent's patch list


@dataclass(slots=True)
class TableDump:
    name: str
    columns: list[str]
    tags: list[str]
    key: str | None
    change: str
    ops: Iterator[NewSegment | Kept | KeptPatch]

    def header(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": self.columns,
            "tags": self.tags,
            "key": self.key,
            "change": self.change,
        }


@dataclass(slots=True)
class TableReader:
    """Reads one table's rows by key range and cuts them into segments."""

    conn: Connection
    name: str
    columns: list[str]
    tags: list[str]
    plan: Plan
    order: list[str]
    total_order: bool
    _compressor: Any = field(default_factory=lambda: zstandard.ZstdCompressor(level=3))

    @classmethod
    def for_table(cls, conn: Connection, name: str) -> TableReader:
        meta = tables.metadata.tables.get(name)
        db_cols = [c["name"] for c in inspect(conn).get_columns(name)]
        if meta is not None:
            columns = [c.name for c in meta.columns if c.name in db_cols]
            columns += [c for c in db_cols if c not in columns]
            tags = [column_tag(meta.c[c].type) if c in meta.c else "raw" for c in columns]
            pk = [c.name for c in meta.primary_key.columns]
        else:
            columns, tags, pk = db_cols, ["raw"] * len(db_cols), []
        plan = plan_for(meta, name)
        if plan.key is not None and plan.key not in columns:
            plan = Plan(None, "all")
        order = ([plan.key] if plan.key else []) + [c for c in pk if c != plan.key]
        if not pk:
            order += [c for c in columns if c not in order]
        total = bool(pk) and all(tags[columns.index(c)] == "int" for c in order)
        return cls(conn, name, columns, tags, plan, order, total)

    def _select(self, lo: Any, hi: Any) -> Any:
        t = table(self.name, *[column(c) for c in self.columns])
        stmt = select(*t.c)
        if self.plan.key is not None:
            key = t.c[self.plan.key]
            if lo is not None:
                stmt = stmt.where(key >= lo)
            if hi is not None:
                stmt = stmt.where(key < hi)
        return stmt.order_by(*[t.c[c] for c in self.order])

    def _cursor(self, lo: Any, hi: Any) -> Any:
        compiled = self._select(lo, hi).compile(dialect=self.conn.dialect)
        params: Any = (
            tuple(compiled.params[k] for k in compiled.positiontup or ())
            if compiled.positional
            else compiled.params
        )
        dbapi = self.conn.connection.dbapi_connection
        assert dbapi is not None
        if self.conn.dialect.name == "postgresql":
            cur = dbapi.cursor(name=f"fapiao_backup_{self.name}")
            cur.itersize = FETCH
        else:
            cur = dbapi.cursor()
        cur.execute(str(compiled), params)
        return cur

    def _rows(self, lo: Any, hi: Any) -> Iterator[list[Any] | tuple[Any, ...]]:
        conv = [(i, NORMALISE[t]) for i, t in enumerate(self.tags) if t in NORMALISE]
        cur = self._cursor(lo, hi)
        try:
            while batch := cur.fetchmany(FETCH):
                if not conv:
                    yield from batch
                    continue
                for raw in batch:
                    row = list(raw)
                    for i, f in conv:
                        if row[i] is not None:
                            row[i] = f(row[i])
                    yield row
        finally:
            cur.close()

    def sort_key(self) -> Callable[[Any], tuple[Any, ...]]:
        idx = [self.columns.index(c) for c in self.order]
        return lambda row: tuple((0, row[i]) if row[i] is not None else (1, 0) for i in idx)

    def _make(self, lo: Any, rows: list[Any]) -> NewSegment:
        if not self.total_order:
            rows.sort(key=self.sort_key())
        plain = encode_rows(rows)
        return NewSegment(
            lo,
            len(rows),
            hashlib.sha256(plain).hexdigest(),
            len(plain),
            self._compressor.compress(plain),
        )

    def patch(self, keys: list[Any]) -> NewPatch:
        """The rows whose key is one of `keys` (found through the key's index, no scan)."""
        assert self.plan.key is not None
        t = table(self.name, *[column(c) for c in self.columns])
        rows: list[Any] = []
        conv = [(i, NORMALISE[tag]) for i, tag in enumerate(self.tags) if tag in NORMALISE]
        for start in range(0, len(keys), 500):
            stmt = select(*t.c).where(t.c[self.plan.key].in_(keys[start : start + 500]))
            for raw in self.conn.execute(stmt):
                row = list(raw)
                for i, f in conv:
                    if row[i] is not None:
                        row[i] = f(row[i])
                rows.append(row)
        rows.sort(key=self.sort_key())
        plain = encode_rows(rows)
        return NewPatch(
            None,
            len(rows),
            hashlib.sha256(plain).hexdigest(),
            len(plain),
            self._compressor.compress(plain),
            keys,
        )

    def segments(self, lo: Any = None, hi: Any = None) -> Iterator[NewSegment]:
        """The rows with lo <= key < hi, cut into segments; the first one starts at `lo`."""
        if self.plan.key is None:
            rows = list(self._rows(None, None))
            if not self.total_order:
                rows.sort(key=self.sort_key())
            for start in range(0, max(len(rows), 1), SEGMENT_ROWS):
                yield self._make(None, rows[start : start + SEGMENT_ROWS])
            return
        k = self.columns.index(self.plan.key)
        binary = [i for i, t in enumerate(self.tags) if t == "bytes"]
        rows: list[Any] = []
        size = 0
        last: Any = None
        for row in self._rows(lo, hi):
            key = row[k]
            if rows and key != last and (len(rows) >= SEGMENT_ROWS or size >= SEGMENT_BYTES):
                yield self._make(lo, rows)
                lo, rows, size = key, [], 0
            rows.append(row)
            last = key
            for i in binary:
                if row[i] is not None:
                    size += len(row[i])
        yield self._make(lo, rows)


def table_names(conn: Connection) -> list[str]:
    present = set(inspect(conn).get_table_names())
    names = [t.name for t in tables.metadata.sorted_tables if t.name in present]
    return names + [n for n in EXTRA_TABLES if n in present]


def changed_entities(conn: Connection, since_seq: int) -> dict[str, set[int]]:
    ev = schema.events
    out: dict[str, set[int]] = {}
    rows = conn.execute(select(ev.c.entity, ev.c.entity_id).where(ev.c.seq > since_seq).distinct())
    for entity, entity_id in rows:
        try:
            out.setdefault(entity, set()).add(int(entity_id))
        except ValueError:
            continue
    return out


def read_head(conn: Connection) -> dict[str, Any]:
    row = conn.execute(select(schema.ledger_head).where(schema.ledger_head.c.id == 1)).one()
    return {"seq": row.seq, "hash": row.hash, "next_id": row.next_id}


def parent_usable(conn: Connection, parent: dict[str, Any], head: dict[str, Any]) -> bool:
    """The parent is an earlier state of this very ledger: its head event is in our chain."""
    ph = parent.get("head") or {}
    seq = ph.get("seq")
    if not isinstance(seq, int) or seq > head["seq"]:
        return False
    if seq == 0:
        return True
    ev = schema.events
    found = conn.execute(select(ev.c.hash).where(ev.c.seq == seq)).scalar_one_or_none()
    return bool(found == ph.get("hash"))


def _reread(
    reader: TableReader, parent_table: dict[str, Any], changes: dict[str, set[int]], cut: str
) -> tuple[set[int], list[int], bool]:
    """(segments to re-read, keys to patch, keep the parent's patches)."""
    segs = parent_table["segments"]
    n = len(segs)
    again = {n - 1}
    change = reader.plan.change
    if change == "recent":
        for i in range(n - 1):
            if segs[i + 1]["lo"] > cut:
                again.update(range(i, n))
                break
    if change != "entities":
        return again, [], False
    los = [s["lo"] for s in segs[1:]]
    changed = sorted({k for e in reader.plan.entities for k in changes.get(e, ())})
    patches = parent_table.get("patches") or []
    patched = sum(p["rows"] for p in patches) + len(changed)
    if patched > max(4 * SEGMENT_ROWS, FOLD_FRACTION * parent_table["rows"]):
        # too many overrides: fold them into fresh segments
        for key in changed + [k for p in patches for k in p["keys"]]:
            again.add(bisect.bisect_right(los, key))
        return again, [], False
    keys = [k for k in changed if bisect.bisect_right(los, k) not in again]
    return again, keys, True


def table_ops(
    reader: TableReader,
    parent_table: dict[str, Any] | None,
    changes: dict[str, set[int]],
    cut: str,
) -> Iterator[NewSegment | Kept | KeptPatch]:
    compatible = (
        parent_table is not None
        and reader.plan.change != "all"
        and parent_table.get("columns") == reader.columns
        and parent_table.get("key") == reader.plan.key
        and parent_table.get("segments")
    )
    if not compatible:
        yield from reader.segments()
        return
    assert parent_table is not None
    segs = parent_table["segments"]
    again, patch_keys, keep_patches = _reread(reader, parent_table, changes, cut)
    i = 0
    while i < len(segs):
        if i not in again:
            yield Kept(i)
            i += 1
            continue
        j = i
        while j + 1 < len(segs) and j + 1 in again:
            j += 1
        hi = segs[j + 1]["lo"] if j + 1 < len(segs) else None
        yield from reader.segments(segs[i]["lo"], hi)
        i = j + 1
    if keep_patches:
        for k in range(len(parent_table.get("patches") or [])):
            yield KeptPatch(k)
    if patch_keys:
        yield reader.patch(patch_keys)


def snapshot_tables(
    conn: Connection, parent: dict[str, Any] | None, head: dict[str, Any]
) -> Iterator[TableDump]:
    """Every table, in dependency order; kept segments refer to `parent` (None: a full snapshot)."""
    changes = changed_entities(conn, parent["head"]["seq"]) if parent else {}
    cut = ""
    if parent:
        started = dt.datetime.fromisoformat(parent["created_at"]) - RECENT_SLACK
        cut = started.isoformat(timespec="microseconds")
    parent_tables = {t["name"]: t for t in parent["tables"]} if parent else {}
    for name in table_names(conn):
        reader = TableReader.for_table(conn, name)
        yield TableDump(
            name,
            reader.columns,
            reader.tags,
            reader.plan.key,
            reader.plan.change,
            table_ops(reader, parent_tables.get(name), changes, cut),
        )


def overrides(entry: dict[str, Any]) -> dict[Any, int]:
    """key -> index of the patch that holds its current rows (newer than the key's segment)."""
    segs = entry["segments"]
    los = [s["lo"] for s in segs[1:]]
    out: dict[Any, int] = {}
    for idx, patch in enumerate(entry.get("patches") or []):
        for key in patch["keys"]:
            if patch.get("at", "") > segs[bisect.bisect_right(los, key)].get("at", ""):
                out[key] = idx
    return out
