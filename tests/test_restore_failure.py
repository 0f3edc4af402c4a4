"""A restore that fails (a damaged snapshot) leaves the target as it was: no SQLite file created,
no tables left in a PostgreSQL schema, an existing empty ledger still at its revision; a good
snapshot then restores into the same target."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from fapiao.backup import BackupError
from fapiao.backup.create import create_backup
from fapiao.backup.restore import restore
from fapiao.ledger import audit
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from tests.conftest import run_cli
from tests.test_backup import PASS, engine_kind, fresh_db, populate, repo

__all__ = ["fresh_db"]


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAPIAO_BACKUP_PASSPHRASE", PASS)


@pytest.fixture
def snapshots(ledger: Ledger, factory, tmp_path: Path) -> tuple[Path, Path]:
    """(a good repository, a copy whose chunks are damaged)."""
    populate(ledger, factory, tmp_path / "in", 12)
    good, bad = tmp_path / "good", tmp_path / "bad"
    create_backup(ledger.engine, [str(good)], PASS)
    create_backup(ledger.engine, [str(bad)], PASS)
    for chunk in sorted(p for p in (bad / "data").rglob("*") if p.is_file()):
        raw = bytearray(chunk.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        chunk.write_bytes(bytes(raw))
    return good, bad


def tables_of(url: str) -> set[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_failed_restore_creates_no_sqlite_file(snapshots, tmp_path: Path) -> None:
    good, bad = snapshots
    target = tmp_path / "restored.sqlite"
    proc = run_cli("backup", "restore", "--from", str(bad), "--to-db", str(target))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "damaged" in proc.stderr or "mismatch" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("restored")) == []
    ok = run_cli("backup", "restore", "--from", str(good), "--to-db", str(target))
    assert ok.returncode == 0, ok.stderr
    engine = open_engine(target)
    assert audit.verify(engine).ok
    engine.dispose()


def test_failed_restore_leaves_an_empty_schema_empty(snapshots, fresh_db) -> None:
    good, bad = snapshots
    url = fresh_db("postgresql")
    with pytest.raises(BackupError):
        restore(repo(bad), None, url)
    assert tables_of(url) == set()
    restore(repo(good), None, url)
    assert "invoices" in tables_of(url)


def test_failed_restore_into_an_empty_ledger_keeps_its_revision(snapshots, db_url, fresh_db):
    _good, bad = snapshots
    target = fresh_db(engine_kind(db_url))
    engine = open_engine(target)  # an empty ledger, migrated to the newest revisions
    before = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        revisions = sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))
    engine.dispose()
    with pytest.raises(BackupError):
        restore(repo(bad), None, target)
    engine = open_engine(target, migrate=False)
    assert set(inspect(engine).get_table_names()) == before
    with engine.connect() as conn:
        assert sorted(conn.scalars(text("SELECT version_num FROM alembic_version"))) == revisions
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
    engine.dispose()
