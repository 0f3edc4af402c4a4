"""Sync under chaos, offline, and at full speed, against a local sandbox (prints its figures).

1. chaos: 10,000 invoices (half drafts the platform numbers, half imported) under outages, 5xx,
   timeouts, 2 % drop-after-ack and delayed visibility, the worker SIGKILLed at random ≥ 20 times;
   the authority must end up holding exactly the ledger's set, every invoice confirmed.
2. offline: the same with the sandbox down: all recorded locally and queued, state offline; then the
   sandbox comes up and everything drains.
3. throughput: no faults, invoices confirmed per second (batched uploads and read-back).

    .venv/bin/python bench/sync.py [--invoices 10000] [--kills 20] [--only chaos,offline,throughput]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fapiao.ledger import audit
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.sync import outbox
from fapiao.sync.status import sync_status
from fapiao_dev import chaos
from fapiao_dev.sandbox.run import SandboxProcess

FAULTS = {
    "seed": 2024,
    "error_rate": 0.05,
    "timeout_rate": 0.03,
    "timeout_hold_s": 6,
    "latency_ms": [0, 40],
    "drop_after_ack_rate": 0.02,
    "visibility_delay_s": 2,
    "outages": [{"start_s": 6, "end_s": 14}, {"start_s": 30, "end_s": 38}],
}


def say(msg: str) -> None:
    print(msg, flush=True)


def bench_chaos(work: Path, invoices: int, kills: int) -> bool:
    say(f"\n== chaos: {invoices} invoices, {kills} SIGKILLs, faults {json.dumps(FAULTS)}")
    report = chaos.run(
        work / "chaos",
        invoices=invoices,
        drafts=invoices // 2,
        kills=kills,
        kill_after_s=(1.5, 4.0),
        faults=FAULTS,
        timeout=2.0,
        missing_after=4.0,
        converge_timeout_s=600,
        log=lambda m: say("  " + m),
    )
    r = report.to_json()
    say(
        f"converged in {r['converge_s']} s after {r['kills']} kills · ledger {r['ledger']} · "
        f"authority {r['authority']} · missing {r['missing']} · extra/duplicates {r['extra']} · "
        f"differing {r['differing']} · not confirmed {r['not_confirmed'] or 0}"
    )
    say(
        f"sends {r['sends']} · retries {r['retries']} · re-sent after missing "
        f"{r['resends_after_missing']} · sandbox {r['sandbox']} · audit ok {r['audit_ok']}"
    )
    say(f"chaos: {'PASS' if report.ok else 'FAIL'}")
    return report.ok


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_offline(work: Path, invoices: int) -> bool:
    say(f"\n== offline: {invoices} invoices with the sandbox down, then back")
    folder = work / "offline"
    folder.mkdir(parents=True)
    db = str(folder / "ledger.sqlite")
    engine = open_engine(db)
    chaos.seed_ledger(Ledger(engine), folder, invoices=invoices, drafts=invoices // 2, seed=11)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = chaos.worker_cmd(db, url, timeout=2, missing_after=4)
    down = subprocess.run([*cmd, "--once"], capture_output=True, text=True, env=env)
    status = sync_status(engine)
    c = status["counts"]
    say(
        f"while down: exit {down.returncode} · offline {status['offline']} · breaker "
        f"{status['breaker']['state']} · queued {c['queued']} · outbox pending {c['outbox_pending']}"
    )
    ok = status["offline"] and c["queued"] == invoices
    sandbox = SandboxProcess(folder / "sandbox")
    sandbox.port = port
    with sandbox:
        time.sleep(1.0)
        started = time.monotonic()
        up = subprocess.run([*cmd, "--once"], capture_output=True, text=True, env=env)
        took = time.monotonic() - started
        stats = sandbox.stats()
    status = sync_status(engine)
    c = status["counts"]
    say(
        f"back up: exit {up.returncode} · drained in {took:.1f} s · confirmed {c['confirmed']} · "
        f"platform holds {stats['invoices']} · offline {status['offline']}"
    )
    ok = ok and c["confirmed"] == invoices == stats["invoices"] and not status["offline"]
    ok = ok and audit.verify(engine).ok
    say(f"offline: {'PASS' if ok else 'FAIL'}")
    return ok


def bench_throughput(work: Path, invoices: int) -> bool:
    say(f"\n== throughput: {invoices} invoices, no faults")
    folder = work / "throughput"
    folder.mkdir(parents=True)
    db = str(folder / "ledger.sqlite")
    engine = open_engine(db)
    chaos.seed_ledger(Ledger(engine), folder, invoices=invoices, drafts=invoices // 2, seed=12)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with SandboxProcess(folder / "sandbox") as sandbox:
        cmd = [*chaos.worker_cmd(db, sandbox.url, timeout=30, missing_after=5), "--once"]
        cmd += ["--confirm-after", "0"]
        assert sandbox.proc is not None
        sandbox_cpu = _cpu_s(sandbox.proc.pid)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        took = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        sandbox_cpu = _cpu_s(sandbox.proc.pid) - sandbox_cpu
        stats = sandbox.stats()
    worker_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    c = outbox.counts(engine)
    rate = c["confirmed"] / took
    bound = c["confirmed"] / max(worker_cpu, sandbox_cpu)
    say(
        f"{c['confirmed']} confirmed in {took:.1f} s (worker process start included) = "
        f"{rate:.0f} invoices/s · exit {proc.returncode} · platform holds {stats['invoices']}"
    )
    say(
        f"CPU: worker {worker_cpu:.1f} s, sandbox {sandbox_cpu:.1f} s; with a core each the slower "
        f"side allows {bound:.0f} invoices/s · load average now {os.getloadavg()[0]:.1f}"
    )
    ok = c["confirmed"] == invoices and rate >= 500
    say(f"throughput: {'PASS' if ok else 'FAIL'} (target ≥ 500/s wall clock)")
    return ok


def _cpu_s(pid: int) -> float:
    """utime + stime of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--invoices", type=int, default=10_000)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--only", default="chaos,offline,throughput")
    args = p.parse_args()
    wanted = set(args.only.split(","))
    results = []
    with tempfile.TemporaryDirectory(prefix="fapiao-bench-sync-") as tmp:
        work = Path(tmp)
        if "throughput" in wanted:
            results.append(bench_throughput(work, args.invoices))
        if "offline" in wanted:
            results.append(bench_offline(work, args.invoices))
        if "chaos" in wanted:
            results.append(bench_chaos(work, args.invoices, args.kills))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
