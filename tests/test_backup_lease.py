"""Backup and prune on one directory target never overlap: each run holds a lease in the target
itself; a prune finds a backup's lease and stays away, a backup finds a prune's and writes the other
targets only; an expired lease (a crashed run) holds nothing. And prune as a scheduled job."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from fapiao.backup import lease
from fapiao.backup.targets import DirTarget
from fapiao.ledger.store import Ledger
from fapiao.notify.tables import notify_messages
from fapiao.schedule import runner
from tests.notify_support import cli
from tests.test_ops import seeded


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAPIAO_BACKUP_PASSPHRASE", "correct horse battery staple")


def snapshots(target: Path) -> list[str]:
    return sorted(p.name for p in (target / "snapshots").iterdir())


def backup(db_url: str, *targets: Path) -> tuple[int, list[dict]]:
    args = [a for t in targets for a in ("--to", str(t))]
    res = cli(db_url, "backup", "create", *args, "--json")
    return res.exit_code, json.loads(res.stdout)


def test_prune_waits_for_a_backup_writing_to_the_target(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    seeded(ledger, tmp_path, n=2)
    nas = tmp_path / "nas"
    assert backup(db_url, nas)[0] == 0
    assert backup(db_url, nas)[0] == 0
    before = snapshots(nas)
    assert len(before) == 2 and not list((nas / "locks").iterdir())  # leases released after
    cli(db_url, "notify", "channel", "add", "ops", "--url", "json://127.0.0.1:9/hook")
    cli(db_url, "notify", "rule", "add", "--event", "prune.failed", "--channel", "ops")
    writing = lease.acquire(DirTarget(nas), "backup")  # a backup is writing there right now
    busy = cli(db_url, "backup", "prune", "--to", str(nas), "--keep-daily", "1", "--json")
    assert busy.exit_code == 1
    (report,) = json.loads(busy.stdout)
    assert "busy" in report["error"] and "backup" in report["error"]
    assert snapshots(nas) == before  # nothing swept
    with ledger.engine.connect() as conn:
        (told,) = conn.execute(select(notify_messages.c.body)).scalars().all()
    assert f"清理 {nas} 上的旧备份失败" in told and "busy" in told
    lease.release(writing)
    done = cli(db_url, "backup", "prune", "--to", str(nas), "--keep-daily", "1", "--json")
    assert done.exit_code == 0, done.stdout
    assert snapshots(nas) == before[1:]
    assert cli(db_url, "backup", "verify", "--to", str(nas)).exit_code == 0


def test_a_backup_skips_a_target_being_pruned_and_writes_the_others(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    seeded(ledger, tmp_path, n=2)
    nas, usb = tmp_path / "nas", tmp_path / "usb"
    assert backup(db_url, nas)[0] == 0
    sweeping = lease.acquire(DirTarget(nas), "prune")
    with pytest.raises(lease.TargetBusy):  # two prunes never sweep together either
        lease.acquire(DirTarget(nas), "prune")
    code, results = backup(db_url, nas, usb)
    assert code == 1
    by_target = {r["target"]: r for r in results}
    assert not by_target[str(nas)]["ok"] and "busy" in by_target[str(nas)]["error"]
    assert by_target[str(usb)]["ok"] and len(snapshots(usb)) == 1
    assert len(snapshots(nas)) == 1
    lease.release(sweeping)
    assert backup(db_url, nas)[0] == 0


def test_an_expired_lease_holds_nothing_and_is_swept(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    seeded(ledger, tmp_path, n=1)
    nas = tmp_path / "nas"
    assert backup(db_url, nas)[0] == 0
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    crashed = {"kind": "backup", "holder": "gone:1", "taken": past.isoformat(),
               "expires": past.isoformat()}  # fmt: skip
    (nas / "locks" / "backup-crashed").write_text(json.dumps(crashed))
    (nas / "locks" / "prune-torn").write_text("{")  # half written by a writer that died
    done = cli(db_url, "backup", "prune", "--to", str(nas), "--keep-daily", "1")
    assert done.exit_code == 0, done.output
    assert list((nas / "locks").iterdir()) == []


def test_prune_as_a_scheduled_job(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    seeded(ledger, tmp_path, n=1)
    nas = tmp_path / "nas"
    for _ in range(3):
        assert backup(db_url, nas)[0] == 0
    nothing = cli(db_url, "schedule", "add", "prune", "--every", "1d", "--", "--to", str(nas))
    assert nothing.exit_code == 2 and "keep" in nothing.output  # would delete everything: refused
    added = cli(db_url, "schedule", "add", "prune", "--cron", "30 3 * * *",
                "--", "--to", str(nas), "--keep-daily", "1", "--keep-monthly", "6")  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = json.loads(cli(db_url, "schedule", "list", "--json").stdout)
    assert [s["job"] for s in listed] == ["prune"]
    ran = runner.run_due(ledger.engine, now=time.time() + 2 * 86400)
    assert ran["prune"].ok, ran["prune"].summary
    assert f"{nas}: kept 1, removed 2" == ran["prune"].summary
    assert len(snapshots(nas)) == 1
