"""Off-site backups: an S3-protocol server (moto's server mode) on loopback as the target; create,
list, verify, restore, drill and prune from the command line as on a directory; damage in the bucket
is found; a target that fails does not stop the others; retention keeps days, weeks and months."""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fapiao.backup.prune import choose
from fapiao.backup.repo import Repository
from fapiao.backup.s3 import S3Target
from fapiao.backup.tables import backup_runs
from fapiao.backup.targets import parse_target
from fapiao.backup.verify import verify_repo
from tests.conftest import run_cli
from tests.test_backup import PASS, add_invoices, confirm_invoice, invoice_ids, populate

__all__ = ["PASS"]


# the target is what these tests are about, not the ledger's engine (test_backup runs both)
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAPIAO_BACKUP_PASSPHRASE", PASS)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One S3-protocol server for the session, on a free loopback port; each test its own bucket."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> None:
    """What a user sets; inherited by the `fapiao` subprocesses. No ~/.aws file is consulted."""
    for key, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """`s3://BUCKET/PREFIX` of a new, empty bucket."""
    aws_env(monkeypatch, tmp_path, moto_endpoint)
    name = f"fapiao-{uuid.uuid4().hex[:10]}"
    S3Target(f"s3://{name}").client.create_bucket(Bucket=name)
    return f"s3://{name}/ledger/nightly"


def objects(spec: str) -> dict[str, bytes]:
    target = S3Target(spec)
    return {rel: target.read(rel) for rel in target.list("data") + target.list("snapshots")}


def cli_json(*args: str) -> Any:
    proc = run_cli(*args, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


@SQLITE_ONLY
def test_s3_create_list_verify_restore_drill_prune(ledger, factory, tmp_path, db_url, bucket):
    populate(ledger, factory, tmp_path / "in", 8)
    (first,) = cli_json("--db", db_url, "backup", "create", "--to", bucket)
    assert first["ok"] and first["kind"] == "full" and first["target"] == bucket
    name, prefix = bucket.removeprefix("s3://").split("/", 1)
    keys = {o["Key"] for o in S3Target(bucket).client.list_objects_v2(Bucket=name)["Contents"]}
    assert f"{prefix}/config" in keys and f"{prefix}/snapshots/{first['snapshot_id']}" in keys
    assert all(k.startswith(f"{prefix}/") for k in keys)
    # listing pages through the bucket: three objects a page gives the same set
    assert S3Target(bucket, page_size=3).list("data") == S3Target(bucket).list("data")
    assert len(S3Target(bucket).list("data")) > 3

    add_invoices(ledger, factory, tmp_path / "in", 3)
    confirm_invoice(ledger, invoice_ids(ledger)[0])
    (second,) = cli_json("--db", db_url, "backup", "create", "--to", bucket)
    assert second["kind"] == "incremental" and second["parent"] == first["snapshot_id"]
    listed = cli_json("backup", "list", "--to", bucket)
    assert [r["id"] for r in listed] == [first["snapshot_id"], second["snapshot_id"]]
    (checked,) = cli_json("backup", "verify", "--to", bucket)
    assert checked["ok"] and len(checked["snapshots"]) == 2

    restored = cli_json("backup", "restore", "--from", bucket, "--to-db", str(tmp_path / "r.db"))
    assert restored["snapshot_id"] == second["snapshot_id"]
    assert restored["tables"]["invoices"] == len(invoice_ids(ledger)) == 11
    drill = cli_json("--db", db_url, "drill", "--from", bucket)
    assert drill["ok"] and drill["snapshot_id"] == second["snapshot_id"]

    # prune: keep one a day drops the first snapshot and the chunks only it needed
    before = objects(bucket)
    (dry,) = cli_json("backup", "prune", "--to", bucket, "--keep-daily", "1", "--dry-run")
    assert dry["remove"] == [first["snapshot_id"]] and dry["chunks_removed"] > 0
    assert objects(bucket) == before  # a dry run deletes nothing
    (done,) = cli_json("--db", db_url, "backup", "prune", "--to", bucket, "--keep-daily", "1")
    assert done["remove"] == dry["remove"] and done["chunks_removed"] == dry["chunks_removed"]
    after = objects(bucket)
    assert len(before) - len(after) == done["chunks_removed"] + 1
    assert Repository.open(parse_target(bucket), PASS).snapshot_ids() == [second["snapshot_id"]]
    with ledger.engine.connect() as conn:  # who deleted which backups is in the audit chain
        (pruned,) = conn.execute(
            select(backup_runs.c.detail).where(backup_runs.c.kind == "prune")
        ).scalars()
    assert json.loads(pruned)["remove"] == [first["snapshot_id"]]
    # what is left restores and checks out, segment by segment
    assert cli_json("--db", db_url, "drill", "--from", bucket)["ok"]


@SQLITE_ONLY
def test_damaged_object_in_the_bucket_is_found(ledger, factory, tmp_path, db_url, bucket):
    populate(ledger, factory, tmp_path / "in", 5)
    assert run_cli("--db", db_url, "backup", "create", "--to", bucket).returncode == 0
    target = S3Target(bucket)
    flipped, gone = target.list("data")[:2]
    raw = bytearray(target.read(flipped))
    raw[len(raw) // 2] ^= 0x01
    target.write(flipped, bytes(raw))
    target.delete([gone])
    proc = run_cli("backup", "verify", "--to", bucket, "--json")
    assert proc.returncode == 1
    (report,) = json.loads(proc.stdout)
    codes = {p["code"]: p["message_en"] for p in report["problems"]}
    assert flipped.rsplit("/", 1)[1] in codes["backup_chunk_damaged"]
    assert gone.rsplit("/", 1)[1] in codes["backup_chunk_missing"]
    bad = run_cli("backup", "restore", "--from", bucket, "--to-db", str(tmp_path / "x.db"))
    assert bad.returncode == 1 and not (tmp_path / "x.db").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@SQLITE_ONLY
def test_an_unreachable_target_does_not_stop_the_others(
    ledger, factory, tmp_path, monkeypatch, db_url
):
    aws_env(monkeypatch, tmp_path, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    populate(ledger, factory, tmp_path / "in", 3)
    local, offsite, odd = tmp_path / "local", "s3://offsite/fapiao", "ftp://nas/backups"
    proc = run_cli(
        "--db", db_url, "backup", "create", "--to", offsite, "--to", str(local), "--to", odd
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"✗ {offsite}:" in proc.stdout and "unreachable" in proc.stdout
    assert f"✗ {odd}:" in proc.stdout and "unknown target scheme" in proc.stdout
    assert f"✓ {local}:" in proc.stdout
    assert run_cli("backup", "verify", "--to", str(local)).returncode == 0
    status = cli_json("--db", db_url, "backup", "status")
    assert status["last_backup"]["target"] == str(local)


def make_snapshot_at(repo: Repository, template: dict[str, Any], sid: str) -> None:
    repo.save_manifest({**template, "id": sid})


@SQLITE_ONLY
def test_prune_keeps_days_weeks_and_months_on_a_directory(ledger, factory, tmp_path, db_url):
    populate(ledger, factory, tmp_path / "in", 4)
    target = tmp_path / "t"
    assert run_cli("--db", db_url, "backup", "create", "--to", str(target)).returncode == 0
    repo = Repository.open(parse_target(str(target)), PASS)
    (real,) = repo.snapshot_ids()
    template = repo.load_manifest(real)
    # snapshots taken at chosen times (ids carry UTC), the real one's content under each
    newest = "20260102T040000000000Z-00000000"  # 2 January 2026, 12:00 China time
    older = {
        "20260102T030000000000Z-00000001": "same day, earlier",
        "20260101T040000000000Z-00000002": "the day before",
        "20251123T040000000000Z-00000003": "40 days before",
        "20251014T040000000000Z-00000004": "80 days before",
    }
    for sid in [newest, *older]:
        make_snapshot_at(repo, template, sid)
    repo.target.delete([f"snapshots/{real}"])
    ids = repo.snapshot_ids()
    kept = choose(ids, {"daily": 3, "weekly": 0, "monthly": 3})
    assert kept == {
        newest: ["daily", "monthly"],
        "20260101T040000000000Z-00000002": ["daily"],
        "20251123T040000000000Z-00000003": ["daily", "monthly"],
        "20251014T040000000000Z-00000004": ["monthly"],
    }
    # China time decides the day: 2026-01-01T17:00Z is already 2 January in Beijing
    late, early = "20260101T170000000000Z-0000000a", "20260101T150000000000Z-0000000b"
    assert choose([late, early], {"daily": 2}) == {late: ["daily"], early: ["daily"]}
    assert set(choose(ids, {"daily": 0, "weekly": 1, "monthly": 0})) == {newest}

    args = ("backup", "prune", "--to", str(target), "--keep-daily", "2", "--keep-monthly", "2")
    dry = run_cli(*args, "--dry-run")
    assert dry.returncode == 0 and "20251014T040000000000Z-00000004" in dry.stdout
    assert repo.snapshot_ids() == ids
    (done,) = cli_json("--db", db_url, *args)
    assert sorted(done["remove"]) == [
        "20251014T040000000000Z-00000004",
        "20260102T030000000000Z-00000001",
    ]
    assert done["chunks_removed"] == 0  # the copies share every chunk with the kept ones
    assert verify_repo(repo).ok
    assert run_cli("backup", "prune", "--to", str(target)).returncode == 2  # would keep nothing
