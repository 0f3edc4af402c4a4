"""Faults the self-check must see, made for real: a PostgreSQL server of our own (a throwaway
cluster on a free port, never the shared one) stopped and started again, and a tiny loop-mounted
ext4 disk filled to the last block. Each is seen by `fapiao check` and by /readyz, and both
recover when the fault is gone."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.ops.checks import run_checks
from fapiao.ops.probe import make_probe
from fapiao.web.app import create_app
from tests.test_ops import by_name, check, seeded
from tests.test_web_support import Server, free_port

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


class Cluster:
    """A PostgreSQL cluster in a temp dir, owned by `postgres` when we are root."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fapiao-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [f"{PG_BIN[-1]}/{tool}", *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not PG_BIN or not shutil.which("runuser"):
        pytest.skip("PostgreSQL server binaries not installed")
    c = Cluster()
    c.start()
    try:
        yield c
    finally:
        c.remove()


def test_stopped_postgres_is_reported_and_readyz_recovers(cluster: Cluster, tmp_path: Path) -> None:
    engine = open_engine(cluster.url)
    seeded(Ledger(engine, actor="test"), tmp_path, n=3)
    server = Server(create_app(engine=engine))
    try:
        rc, report = check(cluster.url)
        assert rc == 0 and by_name(report)["database"]["level"] == "ok"
        assert httpx.get(server.url + "/readyz").status_code == 200

        cluster.stop()
        rc, report = check(cluster.url)
        database = by_name(report)["database"]
        assert rc == 1 and database["level"] == "fail" and database["code"] == "db_unreachable"
        assert by_name(report)["audit"]["level"] == "skip"  # cannot be judged, and says why
        ready = httpx.get(server.url + "/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        api = httpx.get(
            server.url + "/api/v1/invoices", headers={"Authorization": "Bearer x"}, timeout=30
        )
        assert api.status_code == 503 and api.json()["error"]["code"] == "db_unavailable"

        cluster.start()
        assert (
            httpx.get(server.url + "/readyz", timeout=30).status_code == 200
        )  # pre-ping reconnects
        assert check(cluster.url)[0] == 0
    finally:
        server.close()
        engine.dispose()


@pytest.fixture
def tiny_disk() -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        pytest.skip("a loop-mounted filesystem needs root and mkfs.ext4")
    base = Path(tempfile.mkdtemp(prefix="fapiao-disk-"))
    image, mount = base / "disk.img", base / "mnt"
    mount.mkdir()
    with image.open("wb") as fh:  # a new ledger's migrations peak at 7.4 MiB (32 KiB pages)
        fh.truncate(32 * 1024 * 1024)
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True, capture_output=True
    )
    done = subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True)
    if done.returncode != 0:
        shutil.rmtree(base)
        pytest.skip(f"cannot loop-mount: {done.stderr.decode()[:200]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def fill(path: Path) -> int:
    written = 0
    with (path / "filler.bin").open("wb") as fh:
        chunk = b"\0" * 65536
        try:
            while True:
                fh.write(chunk)
                fh.flush()
                written += len(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    try:
        with (path / "filler2.bin").open("wb") as fh:  # the last partial blocks
            while True:
                fh.write(b"\0" * 512)
                fh.flush()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    return written


def test_full_disk_is_reported_and_recovers(tiny_disk: Path, tmp_path: Path) -> None:
    env = {
        "FAPIAO_CHECK_PATHS": str(tiny_disk),
        "FAPIAO_CHECK_DISK_FAIL_MB": "0.5",
        "FAPIAO_CHECK_DISK_WARN_MB": "1",
        "FAPIAO_CHECK_DISK_FAIL_PCT": "1",
        "FAPIAO_CHECK_DISK_WARN_PCT": "2",
    }
    os.environ.update(env)
    url = f"sqlite:///{tiny_disk / 'ledger.sqlite'}"
    engine = open_engine(url)
    try:
        seeded(Ledger(engine, actor="test"), tmp_path, n=3)

        def checks() -> dict[str, Any]:
            probe = make_probe(url)
            try:
                return {c.name: c for c in run_checks(probe, ["disk", "writable"]).checks}
            finally:
                assert probe.engine is not None
                probe.engine.dispose()

        before = checks()
        assert before["disk"].level == "ok" and before["writable"].level == "ok", before["disk"].en
        assert fill(tiny_disk) > 1024 * 1024
        full = checks()
        assert full["disk"].level == "fail" and full["disk"].code == "disk_full"
        assert str(tiny_disk) in full["disk"].en
        assert full["writable"].level == "fail", full["writable"].en
        assert "full" in full["writable"].en.lower()
        rc, report = check(url, "--no-record", env=env)
        assert rc == 1 and by_name(report)["disk"]["level"] == "fail"

        (tiny_disk / "filler.bin").unlink()
        (tiny_disk / "filler2.bin").unlink(missing_ok=True)
        after = checks()
        assert after["disk"].level == "ok" and after["writable"].level == "ok"
    finally:
        engine.dispose()
        for key in env:
            os.environ.pop(key, None)
