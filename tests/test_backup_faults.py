"""Backup faults: SIGKILL in the middle of `backup create`; a full disk on one of two targets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from fapiao.backup.create import create_backup
from tests.conftest import FAPIAO, run_cli
from tests.test_backup import PASS, add_blobs, populate


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAPIAO_BACKUP_PASSPHRASE", PASS)


def chunk_files(target: Path) -> set[Path]:
    return {p for p in (target / "data").rglob("*") if p.is_file()}


def test_sigkill_during_create_leaves_earlier_backups_intact(ledger, factory, tmp_path, db_url):
    populate(ledger, factory, tmp_path / "in", 5)
    add_blobs(ledger, 10, 1 << 20)
    target = tmp_path / "t"
    (first,) = create_backup(ledger.engine, [str(target)], PASS)
    assert first.ok
    add_blobs(ledger, 30, 1 << 20)
    before = chunk_files(target)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [FAPIAO, "--db", db_url, "backup", "create", "--to", str(target)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(chunk_files(target) - before) >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    assert proc.wait() == -signal.SIGKILL, "the backup finished before it could be killed"
    assert len(chunk_files(target) - before) >= 2  # it was killed part-way through

    listed = json.loads(run_cli("backup", "list", "--to", str(target), "--json").stdout)
    assert [s["id"] for s in listed] == [first.snapshot_id]
    assert run_cli("backup", "verify", "--to", str(target)).returncode == 0
    # the next run completes, reusing what the killed one had already stored
    again = run_cli("--db", db_url, "backup", "create", "--to", str(target), "--json")
    assert again.returncode == 0, again.stderr
    assert run_cli("backup", "verify", "--to", str(target)).returncode == 0
    listed = json.loads(run_cli("backup", "list", "--to", str(target), "--json").stdout)
    assert len(listed) == 2


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A real 1 MiB filesystem (tmpfs); needs root, as in CI and here."""
    mount = tmp_path / "usb"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_on_one_target_does_not_stop_the_other(
    ledger, factory, tmp_path, db_url, tiny_disk
):
    populate(ledger, factory, tmp_path / "in", 5)
    add_blobs(ledger, 4, 1 << 20)  # 4 MiB of incompressible originals: larger than the disk
    roomy = tmp_path / "nas"
    proc = run_cli(
        "--db", db_url, "backup", "create", "--to", str(tiny_disk), "--to", str(roomy), "--json"
    )
    assert proc.returncode == 1
    small, big = json.loads(proc.stdout)
    assert not small["ok"] and "disk full" in small["error"]
    assert big["ok"] and big["snapshot_id"]
    assert run_cli("backup", "verify", "--to", str(roomy)).returncode == 0
    # the full target holds no snapshot, and what it has is still a sound repository
    assert json.loads(run_cli("backup", "list", "--to", str(tiny_disk), "--json").stdout) == []
    assert run_cli("backup", "verify", "--to", str(tiny_disk)).returncode == 0
    status = json.loads(run_cli("--db", db_url, "backup", "status", "--json").stdout)
    assert status["last_backup"]["target"] == str(roomy)
