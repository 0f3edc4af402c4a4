"""API list/search throughput and latency with 1,000,000 invoices in the ledger.

    .venv/bin/python bench/api.py [--invoices N] [--seconds S] [--connections C] [--workers W]

1. Builds (once, then reuses) a SQLite ledger in bench/out/: tenants and the bench user through the
   ledger's write path, then N invoices by DIRECT SQL INSERTS IN BULK (executemany; not the import
   path, no audit events, no originals) — realistic rows: 4 tenants with 2,000 counterparties each,
   valid USCCs, real number layouts, two years of dates, 1–3 named items, a JSON document per row.
   The full-text index is then filled by `fapiao.ledger.search_index.catch_up`, as after an import.
2. Starts `fapiao serve --workers W` on a free loopback port.
3. Loads GET /api/v1/invoices from a separate process: `wrk` (installed with apt-get when missing;
   a small asyncio client when it cannot be) over keep-alive connections, with a mix of listing pages
   (default sort, keyset `after` paging, small offsets), month filters, number searches and party-name
   searches, as a bench user granted two of the four tenants (500,000 invoices visible).
4. Prints requests/s, p50/p90/p99, errors, the server's CPU time per request and the load average.
   Target: >= 800 req/s with p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

OUT = Path(__file__).parent / "out"
PASSWORD = "bench-password"
TENANTS = 4
GRANTED = 2
COUNTERPARTIES = 2000


# --- the ledger ---------------------------------------------------------------------------------


def build(db: Path, count: int) -> None:
    """Tenants and user through the write path; invoices by direct bulk SQL; then the index."""
    import sqlite3

    import orjson

    from fapiao.auth.users import add_user
    from fapiao.ledger import search_index
    from fapiao.ledger.db import open_engine
    from fapiao.ledger.store import Ledger
    from fapiao.money import format_fen
    from fapiao_dev.synth import InvoiceFactory, make_company

    tmp = db.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    engine = open_engine(tmp)
    ledger = Ledger(engine, actor="bench")
    rng = random.Random(7)
    homes = [make_company(rng) for _ in range(TENANTS)]
    tenant_ids = []
    for home in homes:
        tid, problems = ledger.add_tenant(tax_id=home.tax_id, name=home.name)
        assert tid is not None, problems
        tenant_ids.append(tid)
    add_user(
        ledger,
        name="bench",
        password=PASSWORD,
        role="accountant",
        tenants=[str(t) for t in tenant_ids[:GRANTED]],
    )
    engine.dispose()

    started = time.monotonic()
    con = sqlite3.connect(tmp, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    first_id = con.execute("SELECT next_id FROM ledger_head").fetchone()[0]
    others = [[make_company(rng) for _ in range(COUNTERPARTIES)] for _ in homes]
    items = []
    factory = InvoiceFactory(seed=11)
    for _ in range(500):
        items.append(factory.invoice().items)
    kinds = ["digital_special", "digital_special", "digital_normal", "vat_electronic_normal"]
    now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    day0 = dt.date(2024, 1, 1)
    sql = f"INSERT INTO invoices VALUES ({', '.join('?' * 26)})"
    batch_size, done, seq = 20_000, 0, rng.randrange(10**9)
    while done < count:
        rows = []
        for k in range(min(batch_size, count - done)):
            inv_id = first_id + done + k
            t = rng.randrange(TENANTS)
            home, other = homes[t], rng.choice(others[t])
            issued = rng.random() < 0.5
            seller, buyer = (home, other) if issued else (other, home)
            kind = rng.choice(kinds)
            day = day0 + dt.timedelta(days=rng.randrange(730))
            seq += 1
            if kind == "vat_electronic_normal":
                code = f"0{rng.choice(['1100', '3100', '4403'])}{day.year % 100:02d}{rng.randrange(1000):03d}11"
                number = f"{seq % 10**8:08d}"
                key = f"{code}-{number}"
            else:
                code = ""
                number = f"{day.year % 100:02d}{rng.choice('1234')}{rng.randrange(10)}{seq:016d}"
                key = number
            its = rng.choice(items)
            amount = sum(i.amount for i in its)
            tax = sum(i.tax for i in its)
            red = rng.random() < 0.01
            sign = -1 if red else 1
            doc = orjson.dumps(
                {
                    "kind": kind,
                    "code": code,
                    "number": number,
                    "issue_date": day.isoformat(),
                    "seller": {"name": seller.name, "tax_id": seller.tax_id},
                    "buyer": {"name": buyer.name, "tax_id": buyer.tax_id},
                    "items": [
                        {
                            "name": i.name,
                            "quantity": str(i.quantity),
                            "unit_price": str(i.unit_price),
                            "amount": format_fen(i.amount * sign),
                            "tax_rate": str(i.tax_rate),
                            "tax": format_fen(i.tax * sign),
                        }
                        for i in its
                    ],
                    "amount": format_fen(amount * sign),
                    "tax": format_fen(tax * sign),
                    "total": format_fen((amount + tax) * sign),
                    "status": "red" if red else "normal",
                }
            ).decode()
            rows.append(
                (
                    inv_id,
                    tenant_ids[t],
                    key,
                    "issued" if issued else "received",
                    kind,
                    code,
                    number,
                    day.isoformat(),
                    seller.tax_id,
                    seller.name,
                    buyer.tax_id,
                    buyer.name,
                    amount * sign,
                    tax * sign,
                    (amount + tax) * sign,
                    "red" if red else ("void" if rng.random() < 0.005 else "normal"),
                    "",
                    "file",
                    rng.choice(["local", "queued", "uploaded", "confirmed", "confirmed"]),
                    f"{inv_id:064x}",
                    f"{inv_id:032x}",
                    doc,
                    None,
                    f"{number}.xml",
                    now,
                    now,
                )
            )
        con.execute("BEGIN")
        con.executemany(sql, rows)
        con.execute("COMMIT")
        done += len(rows)
        if done % 200_000 < batch_size:
            rate = done / (time.monotonic() - started)
            print(f"  inserted {done:,} invoices ({rate:,.0f}/s)", flush=True)
    con.execute("UPDATE ledger_head SET next_id = ?", (first_id + count,))
    con.close()
    inserted = time.monotonic() - started
    print(
        f"direct SQL bulk inserts (not the import path, no events): {count:,} invoices "
        f"in {inserted:,.0f} s",
        flush=True,
    )
    t0 = time.monotonic()
    engine = open_engine(tmp)
    indexed = search_index.catch_up(engine)
    engine.dispose()
    print(f"search_index.catch_up: {indexed:,} invoices indexed in {time.monotonic() - t0:,.0f} s")
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("ANALYZE")
    con.close()
    tmp.rename(db)


# --- the load -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def targets(db: Path, port: int, token: str, n: int = 600) -> list[str]:
    """A mix of listing pages (filters, keyset paging, small offsets) and full-text searches."""
    import sqlite3

    con = sqlite3.connect(db)
    granted = [r[0] for r in con.execute("SELECT tenant_id FROM user_tenants ORDER BY tenant_id")]
    rows = con.execute(
        "SELECT number, seller_name, buyer_name, issue_date, direction FROM invoices "
        f"WHERE tenant_id IN ({','.join(map(str, granted))}) ORDER BY random() LIMIT ?",
        (n,),
    ).fetchall()
    con.close()
    rng = random.Random(5)
    cursors = _cursors(port, token, 40)
    paths = []
    for number, seller, buyer, day, direction in rows:
        kind = rng.random()
        if kind < 0.15:
            paths.append(f"/api/v1/invoices?limit=50&offset={rng.randrange(0, 500, 50)}")
        elif kind < 0.35:
            paths.append(f"/api/v1/invoices?limit=50&after={rng.choice(cursors)}")
        elif kind < 0.5:
            paths.append(f"/api/v1/invoices?period={day[:7]}&direction={direction}&limit=50")
        elif kind < 0.75:
            paths.append(f"/api/v1/invoices?q={number[-10:]}")
        else:
            name = seller if direction == "received" else buyer
            paths.append(f"/api/v1/invoices?q={quote(name[2:6])}&limit=20")
    return paths


def _get(port: int, token: str, path: str) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _cursors(port: int, token: str, pages: int) -> list[str]:
    """Follows the API's own `next` cursors through the first pages of the default listing."""
    out, path = [], "/api/v1/invoices?limit=50"
    for _ in range(pages):
        page = _get(port, token, path)
        cursor = page.get("next_after")
        if not cursor:
            break
        out.append(cursor)
        path = f"/api/v1/invoices?limit=50&after={cursor}"
    if not out:
        raise SystemExit("the API gave no next_after cursor")
    return out


WRK_SCRIPT = """
local paths = {}
local token = os.getenv("BENCH_TOKEN")
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["Authorization"] = "Bearer " .. token})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk (HTTP load generator) is not installed: trying `apt-get install -y wrk` …")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        done = subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, text=True)
        if done.returncode == 0 and shutil.which("wrk"):
            return shutil.which("wrk")
        print(f"  apt-get failed ({done.stderr.strip()[-200:]})")
    print("  wrk unavailable: using the asyncio client in a separate process instead")
    return None


def run_wrk(wrk: str, port: int, token: str, paths: list[str], seconds: float, conns: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        script, listing = Path(tmp) / "bench.lua", Path(tmp) / "paths.txt"
        script.write_text(WRK_SCRIPT)
        listing.write_text("\n".join(paths) + "\n")
        done = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{conns}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "BENCH_TOKEN": token, "BENCH_PATHS": str(listing)},
            check=True,
        )
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRK "))
    r = json.loads(line[4:])
    secs = r["duration_us"] / 1e6
    return {
        "client": "wrk -t1",
        "requests": r["requests"],
        "seconds": round(secs, 2),
        "errors": r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"],
        "req_per_s": round(r["requests"] / secs, 1),
        "p50_ms": round(r["p50_us"] / 1000, 2),
        "p90_ms": round(r["p90_us"] / 1000, 2),
        "p99_ms": round(r["p99_us"] / 1000, 2),
        "max_ms": round(r["max_us"] / 1000, 2),
    }


async def _client(
    port: int, token: str, paths: list[str], until: float, lat: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random()
    try:
        while time.perf_counter() < until:
            req = (
                f"GET {rng.choice(paths)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if head[9:12] != b"200":
                errors.append(int(head[9:12]))
    finally:
        writer.close()


def _asyncio_load(
    port: int, token: str, paths: list[str], seconds: float, conns: int, queue: mp.Queue
) -> None:
    lat: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *[_client(port, token, paths, until, lat, errors) for _ in range(conns)]
        )

    asyncio.run(main())
    queue.put((lat, errors))


def run_asyncio(port: int, token: str, paths: list[str], seconds: float, conns: int) -> dict:
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=_asyncio_load, args=(port, token, paths, seconds, conns, queue))
    proc.start()
    lat, errors = queue.get(timeout=seconds + 120)
    proc.join()
    lat.sort()
    n = len(lat)

    def pct(p: float) -> float:
        return round(lat[min(n - 1, int(p * n))] * 1000, 2) if n else float("nan")

    return {
        "client": "asyncio (separate process)",
        "requests": n,
        "seconds": seconds,
        "errors": len(errors),
        "req_per_s": round(n / seconds, 1),
        "p50_ms": pct(0.5),
        "p90_ms": pct(0.9),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 2) if n else None,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--client", choices=["wrk", "asyncio"], default="wrk")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / f"api-bulk-{args.invoices}.sqlite"
    if not db.exists():
        print(f"building {db} ({args.invoices:,} invoices, once) …", flush=True)
        build(db, args.invoices)
    wrk = ensure_wrk() if args.client == "wrk" else None
    fapiao = str(Path(sys.executable).with_name("fapiao"))
    # the ledger has users: the bench user makes its own token
    env = {**os.environ, "FAPIAO_PASSWORD": PASSWORD, "FAPIAO_USER": "bench"}
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
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port)
        paths = targets(db, port, token)

        def run(seconds: float) -> dict:
            if wrk:
                return run_wrk(wrk, port, token, paths, seconds, args.connections)
            return run_asyncio(port, token, paths, seconds, args.connections)

        run(3)  # warm-up: page cache, statement caches, the workers' token caches
        load_before = os.getloadavg()
        cpu0 = cpu_seconds(server.pid)
        client0 = _children_cpu()
        figures = run(args.seconds)
        cpu = cpu_seconds(server.pid) - cpu0
        client = _children_cpu() - client0
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(10)
    figures = {
        "invoices": args.invoices,
        "visible_to_user": f"{GRANTED} of {TENANTS} tenants",
        "connections": args.connections,
        "workers": args.workers,
        **figures,
        "server_cpu_s": round(cpu, 2),
        "server_cpu_ms_per_request": round(1000 * cpu / max(1, figures["requests"]), 3),
        "client_cpu_s": round(client, 2),
        "loadavg_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "cores": os.cpu_count(),
    }
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    ok = figures["req_per_s"] >= 800 and figures["p99_ms"] <= 100 and not figures["errors"]
    print(("PASS" if ok else "BELOW TARGET") + ": list/search >= 800 req/s with p99 <= 100 ms")
    return 0


def _children_cpu() -> float:
    """CPU of finished child processes (the load generator once it has exited)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
