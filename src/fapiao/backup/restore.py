"""`backup restore`: a snapshot into an empty SQLite or PostgreSQL database (either engine, whatever
the source was).

The schema is first migrated to exactly the revisions the snapshot was taken at, the rows are loaded
in dependency order in one transaction (COPY on PostgreSQL), every segment checked against its hash
on the way, and then the schema is migrated on to the newest revisions, so data migrations written
since the backup run over the restored rows as they would have over the live ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import zstandard
from sqlalchemy import Engine, inspect, text

from fapiao.backup import BackupError, RepositoryError
from fapiao.backup.crypto import Damaged
from fapiao.backup.dump import overrides
from fapiao.backup.repo import Repository
from fapiao.backup.undo import Before, created_file, remove_file
from fapiao.ledger.db import WRITE, _alembic_config, open_engine, to_url, upgrade

NOT_RESTORED = {"alembic_version"}  # made by the migrations themselves


@dataclass(slots=True)
class RestoreReport:
    snapshot_id: str
    tables: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "rows": self.rows,
            "tables": self.tables,
            "seconds": round(self.seconds, 3),
        }


def pick_manifest(repo: Repository, sid: str | None) -> dict[str, Any]:
    if sid:
        return repo.load_manifest(sid)
    newest = repo.newest()
    if newest is None:
        raise RepositoryError(f"{repo.target.name}: 还没有备份 / no snapshot yet")
    return newest


def segment_plain(repo: Repository, segment: dict[str, Any], where: str) -> bytes:
    """The plain bytes of one segment, checked against its recorded hash."""
    try:
        body = b"".join(repo.get_chunk(c) for c in segment["chunks"])
    except FileNotFoundError as exc:
        raise BackupError(f"{where}: 缺少数据块 / missing chunk {exc.filename}") from exc
    except Damaged as exc:
        raise BackupError(f"{where}: 数据块损坏 / damaged chunk: {exc}") from exc
    plain = zstandard.ZstdDecompressor().decompress(body, max_output_size=max(segment["size"], 1))
    if hashlib.sha256(plain).hexdigest() != segment["sha"]:
        raise BackupError(f"{where}: 数据段校验失败 / segment hash mismatch")
    return plain


def _sqlite_datetime(v: str) -> str:
    return dt.datetime.fromisoformat(v).strftime("%Y-%m-%d %H:%M:%S.%f")


def _decoders(tags: list[str], dialect: str) -> list[tuple[int, Callable[[Any], Any]]]:
    """Dates, times and decimals go in as their ISO/text form on both engines (COPY and SQLite's
    storage take text); bytes come back from base64, datetimes in the form SQLAlchemy stores."""
    table: dict[str, Callable[[Any], Any]] = {"bytes": base64.b64decode}
    if dialect == "sqlite":
        table |= {"datetime": _sqlite_datetime, "bool": int}
    return [(i, table[t]) for i, t in enumerate(tags) if t in table]


def _decode(rows: list[Any], decoders: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    if decoders:
        for row in rows:
            for i, f in decoders:
                if row[i] is not None:
                    row[i] = f(row[i])
    return rows


def _is_empty(engine: Engine) -> bool:
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for name in ("events", "invoices"):
            if name in names and conn.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first():
                return False
    return True


def _migrate_to(engine: Engine, revisions: list[str]) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    cfg = _alembic_config(engine)
    script = ScriptDirectory.from_config(cfg)
    for rev in revisions:
        try:
            script.get_revision(rev)
        except CommandError as exc:
            raise BackupError(
                f"备份来自更新的程序版本（未知迁移 {rev}）/ the snapshot comes from a newer "
                f"fapiao: unknown migration {rev}"
            ) from exc
    for rev in revisions or ["heads"]:
        command.upgrade(cfg, rev)


def _segments(
    repo: Repository, manifest: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], int, bytes]]:
    """(table entry, segment index or -1-patch index, plain bytes), fetched ahead of the consumer."""
    work: list[tuple[dict[str, Any], int, dict[str, Any], str]] = []
    for t in manifest["tables"]:
        if t["name"] in NOT_RESTORED:
            continue
        work += [(t, i, s, f"{t['name']}[{i}]") for i, s in enumerate(t["segments"])]
        patches = t.get("patches") or []
        work += [(t, -1 - i, p, f"{t['name']} patch {i}") for i, p in enumerate(patches)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        ahead: list[Future[bytes]] = []
        for n in range(min(3, len(work))):
            _t, _i, s, where = work[n]
            ahead.append(pool.submit(segment_plain, repo, s, where))
        for n, (t, i, _s, _w) in enumerate(work):
            plain = ahead.pop(0).result()
            if n + 3 < len(work):
                _t2, _i2, s2, where2 = work[n + 3]
                ahead.append(pool.submit(segment_plain, repo, s2, where2))
            yield t, i, plain


def current_rows(
    entry: dict[str, Any], index: int, rows: list[Any], ov: dict[Any, int]
) -> list[Any]:
    """The rows of a segment (index >= 0) or patch (-1 - index) that are current in the snapshot."""
    if not ov:
        return rows
    k = entry["columns"].index(entry["key"])
    if index >= 0:
        return [r for r in rows if r[k] not in ov]
    return [r for r in rows if ov.get(r[k]) == -1 - index]


def restore(repo: Repository, sid: str | None, db: str) -> RestoreReport:
    """A failed restore leaves the target as it was: a SQLite file it created is removed, tables
    it created are dropped, the migration record is put back (the rows load in one transaction)."""
    started = time.monotonic()
    manifest = pick_manifest(repo, sid)
    url = to_url(db)
    new_file = created_file(url)
    engine = open_engine(url, migrate=False)
    before: Before | None = None
    try:
        if not _is_empty(engine):
            raise BackupError(
                "目标数据库不是空的，拒绝覆盖 / the target database is not empty: refusing to "
                "restore over it"
            )
        before = Before.of(engine)
        _migrate_to(engine, manifest.get("revisions") or [])
        report = RestoreReport(manifest["id"])
        _load(engine, repo, manifest, report)
        upgrade(engine)
    except BaseException:
        if before is not None and new_file is None:
            before.put_back(engine)
        engine.dispose()
        if new_file is not None:
            remove_file(new_file)
        raise
    engine.dispose()
    report.seconds = time.monotonic() - started
    return report


def _load(
    engine: Engine, repo: Repository, manifest: dict[str, Any], report: RestoreReport
) -> None:
    present = set(inspect(engine).get_table_names())
    missing = [
        t["name"]
        for t in manifest["tables"]
        if t["name"] not in present and t["name"] not in NOT_RESTORED
    ]
    if missing:
        raise BackupError(f"迁移后缺少表 / tables missing after migration: {', '.join(missing)}")
    dialect = engine.dialect.name
    with engine.connect().execution_options(**{WRITE: True}) as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        if dialect == "sqlite":
            # A fresh database filled in one transaction: a rollback journal writes each page once
            # (new pages need no journal), where WAL would write everything twice.
            dbapi.execute("PRAGMA journal_mode=DELETE")
        with conn.begin():
            _load_rows(conn, dbapi, repo, manifest, report)
        if dialect == "sqlite":
            dbapi.execute("PRAGMA journal_mode=WAL")


def _load_rows(
    conn: Any, dbapi: Any, repo: Repository, manifest: dict[str, Any], report: RestoreReport
) -> None:
    dialect = conn.dialect.name
    quote = conn.dialect.identifier_preparer.quote
    cur = dbapi.cursor()
    indexes = _drop_sqlite_indexes(cur) if dialect == "sqlite" else []
    cleared: dict[str, dict[Any, int]] = {}
    for entry, index, plain in _segments(repo, manifest):
        name = entry["name"]
        cols = ", ".join(quote(c) for c in entry["columns"])
        if name not in cleared:
            cur.execute(f"DELETE FROM {quote(name)}")
            cleared[name] = overrides(entry)
            report.tables[name] = 0
        rows = current_rows(entry, index, json.loads(plain), cleared[name])
        rows = _decode(rows, _decoders(entry["tags"], dialect))
        if not rows:
            continue
        if dialect == "postgresql":
            with cur.copy(f"COPY {quote(name)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(entry["columns"]))
            cur.executemany(f"INSERT INTO {quote(name)} ({cols}) VALUES ({marks})", rows)
        report.tables[name] += len(rows)
        report.rows += len(rows)
    if dialect == "postgresql":
        _advance_sequences(cur, manifest, quote)
    for sql in indexes:  # built once from the loaded rows, faster than row by row
        cur.execute(sql)
    cur.close()


def _drop_sqlite_indexes(cur: Any) -> list[str]:
    """Secondary indexes (those with their own CREATE statement); returns how to build them again."""
    found = cur.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in found:
        cur.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def _advance_sequences(cur: Any, manifest: dict[str, Any], quote: Callable[[str], str]) -> None:
    """Serial or identity columns continue after the restored rows."""
    for entry in manifest["tables"]:
        if entry["name"] in NOT_RESTORED:
            continue
        for col in entry["columns"]:
            cur.execute("SELECT pg_get_serial_sequence(%s, %s)", (quote(entry["name"]), col))
            seq = cur.fetchone()[0]
            if seq:
                cur.execute(
                    f"SELECT setval(%s, COALESCE(MAX({quote(col)}), 0) + 1, false) "
                    f"FROM {quote(entry['name'])}",
                    (seq,),
                )
