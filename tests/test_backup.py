"""Backups: round trip on SQLite and PostgreSQL (and across them), cheap incrementals, verify, drill."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text, update

from fapiao import tables
from fapiao.backup import WrongPassphrase, dump
from fapiao.backup.create import create_backup
from fapiao.backup.repo import Repository
from fapiao.backup.restore import restore
from fapiao.backup.targets import parse_target
from fapiao.ingest import import_paths
from fapiao.ledger import audit, schema
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger, row_hash
from tests.conftest import PG_URL, _pg_schema_url, run_cli, write_invoice

PASS = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAPIAO_BACKUP_PASSPHRASE", PASS)


@pytest.fixture
def fresh_db(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """Makes empty databases: fresh_db('sqlite') or fresh_db('postgresql')."""
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    made: list[str] = []

    def make(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:6]}.sqlite'}"
        name = f"r_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
        made.append(name)
        return _pg_schema_url(name)

    yield make
    with admin.begin() as conn:
        for name in made:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


def engine_kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def populate(ledger: Ledger, factory: Any, folder: Path, count: int) -> None:
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    add_invoices(ledger, factory, folder, count)


def add_invoices(ledger: Ledger, factory: Any, folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    start = len(list(folder.iterdir()))
    for n in range(count):
        write_invoice(folder / f"{start + n:05d}.json", factory.invoice())
    # quarantined, its file kept (each its own content: the same file again makes no new item)
    (folder / f"bad-{start}.json").write_bytes(b"{not json %d" % start)
    import_paths(ledger, [folder])


def add_blobs(ledger: Ledger, count: int, size: int) -> None:
    import hashlib

    for _ in range(count):
        data = os.urandom(size)
        sha = hashlib.sha256(data).hexdigest()
        with ledger.write() as tx:
            tx.insert(
                schema.blobs, [{"sha256": sha, "size": size, "data": data, "created_at": tx.now}]
            )
            tx.event("blob.stored", "blob", sha, {"sha256": sha, "size": size})


def confirm_invoice(ledger: Ledger, invoice_id: int) -> None:
    """Changes an invoice row the way the write path must: new state + event with its row_hash."""
    inv = schema.invoices
    with ledger.write() as tx:
        row = dict(tx.conn.execute(select(inv).where(inv.c.id == invoice_id)).one()._mapping)
        row.update(authority_state="confirmed", updated_at=tx.now)
        tx.conn.execute(
            update(inv)
            .where(inv.c.id == invoice_id)
            .values(authority_state="confirmed", updated_at=tx.now)
        )
        tx.event("invoice.confirmed", "invoice", invoice_id, {"row_hash": row_hash(row)})


def invoice_ids(ledger: Ledger) -> list[int]:
    with ledger.engine.connect() as conn:
        return list(conn.scalars(select(schema.invoices.c.id).order_by(schema.invoices.c.id)))


def table_contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the metadata, rows in a total order, values as SQLAlchemy types read them."""
    engine = open_engine(url, migrate=False)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for t in tables.metadata.sorted_tables:
            order = list(t.primary_key.columns) or list(t.columns)
            out[t.name] = [tuple(r) for r in conn.execute(select(t).order_by(*order))]
    engine.dispose()
    return out


def repo(path: Path) -> Repository:
    return Repository.open(parse_target(str(path)), PASS)


def test_round_trip_incremental_and_across_engines(ledger, factory, tmp_path, db_url, fresh_db):
    populate(ledger, factory, tmp_path / "in", 25)
    first = create_backup(ledger.engine, [str(tmp_path / "a"), str(tmp_path / "b")], PASS)
    assert [r.ok for r in first] == [True, True] and first[0].kind == "full"
    confirm_invoice(ledger, invoice_ids(ledger)[3])
    add_invoices(ledger, factory, tmp_path / "in", 5)
    add_blobs(ledger, 2, 3000)
    second = create_backup(ledger.engine, [str(tmp_path / "a"), str(tmp_path / "b")], PASS)
    assert second[0].kind == "incremental" and second[0].parent == first[0].snapshot_id
    assert second[0].stored_bytes > 0 and second[1].snapshot_id == second[0].snapshot_id

    live = table_contents(db_url)
    assert len(live["invoices"]) == 30 and len(live["quarantine"]) >= 2
    other = "postgresql" if engine_kind(db_url) == "sqlite" else "sqlite"
    for kind in (engine_kind(db_url), other):
        url = fresh_db(kind)
        report = restore(repo(tmp_path / "b"), None, url)
        assert report.tables["invoices"] == 30
        assert table_contents(url) == live, f"restore into {kind} differs"
        assert run_cli("--db", url, "audit", "verify").returncode == 0
    # the older snapshot restores too, to the state it was taken in
    url = fresh_db(engine_kind(db_url))
    restore(repo(tmp_path / "a"), first[0].snapshot_id, url)
    assert len(table_contents(url)["invoices"]) == 25
    assert audit.verify(open_engine(url)).ok


def test_incremental_rereads_only_changed_segments(ledger, factory, tmp_path, monkeypatch):
    monkeypatch.setattr(dump, "SEGMENT_ROWS", 8)
    populate(ledger, factory, tmp_path / "in", 60)
    target = str(tmp_path / "t")
    (full,) = create_backup(ledger.engine, [target], PASS)
    ids = invoice_ids(ledger)
    confirm_invoice(ledger, ids[10])
    (inc,) = create_backup(ledger.engine, [target], PASS)
    assert inc.kind == "incremental"
    assert inc.stored_bytes < full.stored_bytes / 3
    manifest = repo(Path(target)).newest()
    assert manifest is not None
    tables = {t["name"]: t for t in manifest["tables"]}
    inv = tables["invoices"]
    assert len(inv["segments"]) >= 8 and inv["rows"] == 60
    assert inv["reread"] == 1  # only the open last segment
    assert [p["keys"] for p in inv["patches"]] == [[ids[10]]]  # the changed row, found by id
    assert tables["line_items"]["reread"] == 1
    assert tables["events"]["reread"] == 1 and len(tables["events"]["segments"]) >= 8
    # two more rounds: a patched row patched again, and a new one
    confirm_invoice(ledger, ids[10])
    confirm_invoice(ledger, ids[40])
    create_backup(ledger.engine, [target], PASS)
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    restore(repo(Path(target)), None, url)
    assert table_contents(url) == table_contents(ledger.engine.url.render_as_string(False))
    assert run_cli("--db", url, "audit", "verify").returncode == 0
    drill = run_cli("--db", url, "drill", "--from", target, "--json")
    assert json.loads(drill.stdout)["ok"], drill.stdout


def test_verify_names_flipped_byte_and_missing_chunk(ledger, factory, tmp_path, db_url):
    populate(ledger, factory, tmp_path / "in", 10)
    add_blobs(ledger, 3, 20_000)
    target = tmp_path / "t"
    assert run_cli("--db", db_url, "backup", "create", "--to", str(target)).returncode == 0
    assert run_cli("backup", "verify", "--to", str(target)).returncode == 0
    chunks = sorted(p for p in (target / "data").rglob("*") if p.is_file())
    flipped, gone = chunks[0], chunks[1]
    raw = bytearray(flipped.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    flipped.write_bytes(bytes(raw))
    gone.unlink()
    proc = run_cli("backup", "verify", "--to", str(target), "--json")
    assert proc.returncode == 1
    (report,) = json.loads(proc.stdout)
    codes = {p["code"]: p["message_en"] for p in report["problems"]}
    assert flipped.name in codes["backup_chunk_damaged"]
    assert gone.name in codes["backup_chunk_missing"]
    # a restore from the damaged repository refuses rather than loading bad rows
    bad = run_cli("backup", "restore", "--from", str(target), "--to-db", str(tmp_path / "x.db"))
    assert bad.returncode == 1


def test_wrong_or_missing_passphrase(ledger, factory, tmp_path, db_url, monkeypatch):
    populate(ledger, factory, tmp_path / "in", 3)
    target = tmp_path / "t"
    assert run_cli("--db", db_url, "backup", "create", "--to", str(target)).returncode == 0
    with pytest.raises(WrongPassphrase):
        Repository.open(parse_target(str(target)), "not it")
    monkeypatch.setenv("FAPIAO_BACKUP_PASSPHRASE", "not it")
    proc = run_cli("backup", "list", "--to", str(target))
    assert proc.returncode == 1 and "wrong backup passphrase" in proc.stderr
    monkeypatch.delenv("FAPIAO_BACKUP_PASSPHRASE")
    proc = run_cli("backup", "list", "--to", str(target))
    assert proc.returncode == 2 and "FAPIAO_BACKUP_PASSPHRASE" in proc.stderr
    monkeypatch.setenv("FAPIAO_BACKUP_PASSPHRASE", PASS)
    proc = run_cli("--db", db_url, "backup", "create", "--to", "ftp://nas/x", "--to", str(target))
    assert proc.returncode == 1 and "unknown target scheme" in proc.stdout
    assert f"✓ {target}" in proc.stdout  # the good target is still written


def test_nothing_stored_in_clear(ledger, factory, tmp_path, db_url):
    populate(ledger, factory, tmp_path / "in", 5)
    target = tmp_path / "t"
    create_backup(ledger.engine, [str(target)], PASS)
    secret = factory.home.tax_id.encode()
    for path in target.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert PASS.encode() not in (target / "config").read_bytes()


def test_restore_refuses_a_database_with_a_ledger(ledger, factory, tmp_path, db_url):
    populate(ledger, factory, tmp_path / "in", 3)
    create_backup(ledger.engine, [str(tmp_path / "t")], PASS)
    proc = run_cli("backup", "restore", "--from", str(tmp_path / "t"), "--to-db", db_url)
    assert proc.returncode == 1 and "not empty" in proc.stderr


def test_drill_records_its_result(ledger, factory, tmp_path, db_url):
    populate(ledger, factory, tmp_path / "in", 8)
    target = tmp_path / "t"
    assert run_cli("--db", db_url, "backup", "create", "--to", str(target)).returncode == 0
    proc = run_cli("--db", db_url, "drill", "--from", str(target), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and set(report["steps"]) >= {"restore", "audit", "compare", "chain"}
    status = json.loads(run_cli("--db", db_url, "backup", "status", "--json").stdout)
    assert status["last_drill"]["status"] == "ok"
    assert status["last_drill"]["snapshot_id"] == report["snapshot_id"]
    assert 0 <= status["last_backup_age_s"] < 600
    # the drill is in the audit chain
    assert audit.verify(ledger.engine).ok
    # a drill against a damaged backup fails and says so
    for chunk in (target / "data").rglob("*"):
        if chunk.is_file():
            chunk.write_bytes(chunk.read_bytes()[:-1] + b"\0")
    proc = run_cli("--db", db_url, "drill", "--from", str(target), "--json")
    assert proc.returncode == 1 and not json.loads(proc.stdout)["ok"]
    status = json.loads(run_cli("--db", db_url, "backup", "status", "--json").stdout)
    assert status["last_drill"]["status"] == "failed"


def test_the_list_shows_each_snapshot_id_whole_for_restore(ledger, factory, tmp_path, db_url):
    """`backup list` at a terminal's 80 columns: each id whole (cut to fit, `restore --id` could
    not be given it), the time in Beijing time, the kind in words; the id restores."""
    populate(ledger, factory, tmp_path / "in", 3)
    target = tmp_path / "t"
    for _ in range(2):
        assert run_cli("--db", db_url, "backup", "create", "--to", str(target)).returncode == 0
    ids = [s["id"] for s in json.loads(
        run_cli("backup", "list", "--to", str(target), "--json", check=True).stdout
    )]  # fmt: skip
    shown = run_cli("backup", "list", "--to", str(target), env={"COLUMNS": "80"}, check=True)
    lines = shown.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for sid, kind in zip(ids, ("全量", "增量"), strict=True):
        (row,) = [line for line in lines if sid in line]
        assert "北京时间" in row and kind in row
    restored = run_cli("backup", "restore", "--from", str(target), "--id", ids[0],
                       "--to-db", str(tmp_path / "r.db"))  # fmt: skip
    assert restored.returncode == 0, restored.stderr
