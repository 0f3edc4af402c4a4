"""API list/search throughput and latency with 1,000,000 invoices in the ledger.

Builds (once, then reuses) a SQLite ledger of synthetic invoices in bench/out/, imported through
the ledger's real write path (so the search index is filled by its triggers, as in production),
starts `fapiao serve` on a free loopback port, and drives GET /api/v1/invoices (listing pages and
full-text searches) from a separate process with keep-alive connections. Prints requests/s and
latency percentiles; the target is >= 800 req/s with p99 <= 100 ms.

    .venv/bin/python bench/api.py [--invoices N] [--seconds S] [--connections C] [--workers W]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

OUT = Path(__file__).parent / "out"


def build(db: Path, count: int) -> None:
    from fapiao.codec import canonical_bytes, invoice_to_json
    from fapiao.ledger.db import open_engine
    from fapiao.ledger.imports import Incoming, import_batch
    from fapiao.ledger.store import Ledger
    from fapiao.synth import InvoiceFactory

    tmp = db.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    engine = open_engine(tmp)
    ledger = Ledger(engine, actor="bench")
    factories = [InvoiceFactory(seed=100 + n, counterparties=400) for n in range(4)]
    for f in factories:
        ledger.add_tenant(tax_id=f.home.tax_id, name=f.home.name)
    tenants = ledger.tenants()
    started, done, batch_size = time.monotonic(), 0, 2000
    while done < count:
        batch = []
        for _ in range(min(batch_size, count - done)):
            inv = random.choice(factories).invoice()
            data = canonical_bytes(invoice_to_json(inv))
            batch.append(Incoming(f"{inv.number}.json", _sha(data), data, inv))
        import_batch(ledger, tenants, batch)
        done += len(batch)
        if done % 100_000 < batch_size:
            rate = done / (time.monotonic() - started)
            print(f"  built {done:,} invoices ({rate:,.0f}/s)", flush=True)
    from fapiao.auth.users import add_user

    os.environ.setdefault("FAPIAO_PASSWORD", "bench-password")
    add_user(
        ledger,
        name="bench",
        password="bench-password",
        role="accountant",
        tenants=[str(tid) for tid in tenants.values()][:1],
    )
    engine.dispose()
    tmp.rename(db)
    print(
        f"import: {count:,} invoices in {time.monotonic() - started:,.0f} s "
        f"({count / (time.monotonic() - started):,.0f}/s incl. search index)"
    )


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def targets(db: Path, n: int = 400) -> list[str]:
    """A mix of listing pages (filters, sort, paging) and full-text searches that hit."""
    import sqlite3

    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT number, seller_name, buyer_name, issue_date FROM invoices "
        "WHERE tenant_id = (SELECT min(tenant_id) FROM user_tenants) "
        "ORDER BY random() LIMIT ?",
        (n,),
    ).fetchall()
    con.close()
    rng = random.Random(5)
    paths = []
    for number, seller, buyer, day in rows:
        kind = rng.random()
        if kind < 0.35:
            paths.append(f"/api/v1/invoices?limit=50&offset={rng.randrange(0, 500, 50)}")
        elif kind < 0.5:
            paths.append(f"/api/v1/invoices?period={day[:7]}&direction=issued&limit=50")
        elif kind < 0.75:
            paths.append(f"/api/v1/invoices?q={number[-10:]}")
        else:
            name = rng.choice([seller, buyer])
            paths.append(f"/api/v1/invoices?q={quote(name[2:8])}&limit=20")
    return paths


async def _client(
    host: str,
    port: int,
    token: str,
    paths: list[str],
    until: float,
    lat: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    rng = random.Random()
    try:
        while time.perf_counter() < until:
            path = rng.choice(paths)
            req = (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                "Connection: keep-alive\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def load(
    host: str, port: int, token: str, paths: list[str], seconds: float, conns: int, queue: mp.Queue
) -> None:
    """Runs in its own process: `conns` keep-alive connections for `seconds`."""
    lat: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *[_client(host, port, token, paths, until, lat, errors) for _ in range(conns)]
        )

    asyncio.run(main())
    queue.put((lat, errors))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / f"api-{args.invoices}.sqlite"
    if not db.exists():
        print(f"building {db} ({args.invoices:,} invoices, once) …", flush=True)
        build(db, args.invoices)
    fapiao = str(Path(sys.executable).with_name("fapiao"))
    env = {**os.environ, "FAPIAO_PASSWORD": "bench-password"}
    token = subprocess.run(
        [fapiao, "--db", str(db), "user", "token", "bench", "--label", "bench"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [fapiao, "--db", str(db), "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(port)
        paths = targets(db)
        # warm-up: page cache and the workers' token caches
        _run_load(port, token, paths, 3, args.connections)
        lat, errors = _run_load(port, token, paths, args.seconds, args.connections)
    finally:
        server.terminate()
        server.wait(10)
    lat.sort()
    n = len(lat)

    def pct(p: float) -> float:
        return lat[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    figures = {
        "invoices": args.invoices,
        "seconds": args.seconds,
        "connections": args.connections,
        "workers": args.workers,
        "requests": n,
        "errors": len(errors),
        "req_per_s": round(n / args.seconds, 1),
        "p50_ms": round(pct(0.50), 2),
        "p95_ms": round(pct(0.95), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(lat[-1] * 1000, 2) if n else None,
    }
    print(json.dumps(figures, indent=1))
    ok = figures["req_per_s"] >= 800 and figures["p99_ms"] <= 100 and not errors
    print(("PASS" if ok else "BELOW TARGET") + ": list/search >= 800 req/s with p99 <= 100 ms")
    return 0


def _run_load(
    port: int, token: str, paths: list[str], seconds: float, conns: int
) -> tuple[list[float], list[int]]:
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=load, args=("127.0.0.1", port, token, paths, seconds, conns, queue))
    proc.start()
    lat, errors = queue.get(timeout=seconds + 120)
    proc.join()
    return lat, errors


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


if __name__ == "__main__":
    raise SystemExit(main())
