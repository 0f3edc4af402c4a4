"""200 concurrent clients against a real `fapiao serve` on PostgreSQL with a pool of 5 connections
(no overflow, 1 s pool timeout, 2 s statement timeout). Midway the invoices table is locked by
another session for 1.5 s, so the five connections stick and the pool runs out for real. Every
request must end in a success or a clear 503 within the configured bound, and the server must keep
serving afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from fapiao.auth import users as auth
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from tests.conftest import FAPIAO, PG_URL
from tests.test_ops import seeded
from tests.test_web_support import free_port

CLIENTS = 200
ROUNDS = 4
POOL_TIMEOUT_S = 1.0
QUEUE_TIMEOUT_S = 2.0
STATEMENT_TIMEOUT_MS = 2000
BOUND_S = QUEUE_TIMEOUT_S + POOL_TIMEOUT_S + STATEMENT_TIMEOUT_MS / 1000 + 3.0  # + slack, 2 cores
CLEAR_503 = {"pool_exhausted", "overloaded", "db_unavailable"}


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    options = f"-csearch_path%3D{schema}%20-cstatement_timeout%3D{STATEMENT_TIMEOUT_MS}"
    try:
        yield f"{PG_URL}?options={options}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def start_server(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = tmp / "server.log"
    env = {
        **os.environ,
        "FAPIAO_DB_POOL_SIZE": "5",
        "FAPIAO_DB_POOL_OVERFLOW": "0",
        "FAPIAO_DB_POOL_TIMEOUT": str(POOL_TIMEOUT_S),
        "FAPIAO_WEB_QUEUE_TIMEOUT": str(QUEUE_TIMEOUT_S),
        "FAPIAO_CHECK_FIRST_DELAY_S": "3600",
        "FAPIAO_LOG_LEVEL": "warning",
        "FAPIAO_LOG": str(log),
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.Popen(
        [FAPIAO, "--db", url, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "server.err").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base, log
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError((tmp / "server.err").read_text())


async def hammer(
    base: str, token: str, ids: list[str]
) -> list[tuple[int, float, dict | None, str]]:
    results: list[tuple[int, float, dict | None, str]] = []
    # a new connection per request: no race with the server closing an idle keep-alive connection
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=BOUND_S + 10, headers=headers
    ) as client:

        async def one_client(n: int) -> None:
            for r in range(ROUNDS):
                path = f"/api/v1/invoices/{ids[(n + r) % len(ids)]}" if r % 2 == 0 else "/readyz"
                started = time.perf_counter()
                try:
                    resp = await client.get(path)
                except httpx.HTTPError as exc:
                    results.append((0, time.perf_counter() - started, None, repr(exc)))
                    continue
                body = (
                    resp.json()
                    if resp.headers.get("content-type", "").startswith("application/json")
                    else None
                )
                results.append(
                    (
                        resp.status_code,
                        time.perf_counter() - started,
                        body,
                        resp.headers.get("retry-after", ""),
                    )
                )

        await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))
    return results


def lock_invoices(url: str, hold_s: float, after_s: float) -> threading.Thread:
    def run() -> None:
        time.sleep(after_s)
        engine = create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
                "statement_timeout%3D2000", "statement_timeout%3D0"
            )
        )
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE"))
            time.sleep(hold_s)
        engine.dispose()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_200_clients_against_a_pool_of_5_end_in_success_or_a_clear_503(
    pg_schema_url: str, tmp_path: Path
) -> None:
    engine = open_engine(pg_schema_url)
    ledger = Ledger(engine, actor="test")
    seeded(ledger, tmp_path, n=20)
    auth.add_user(ledger, name="loader", password="correct horse 7", role="admin")
    token = auth.create_token(ledger, "loader", "load test")
    with engine.connect() as conn:
        ids = [str(r[0]) for r in conn.execute(text("SELECT id FROM invoices ORDER BY id"))]
    engine.dispose()
    proc, base, log = start_server(pg_schema_url, tmp_path)
    try:
        httpx.get(
            f"{base}/api/v1/invoices/{ids[0]}", headers={"Authorization": f"Bearer {token}"}
        ).raise_for_status()
        locker = lock_invoices(pg_schema_url, hold_s=1.5, after_s=0.3)
        started = time.perf_counter()
        results = asyncio.run(hammer(base, token, ids))
        wall = time.perf_counter() - started
        locker.join(10)

        assert len(results) == CLIENTS * ROUNDS
        failures = [r for r in results if r[0] not in (200, 503)]
        assert not failures, failures[:5]
        unclear = [
            r
            for r in results
            if r[0] == 503
            and (not r[2] or r[2].get("error", {}).get("code") not in CLEAR_503)
            and (not r[2] or r[2].get("status") != "not_ready")
        ]
        assert not unclear, unclear[:5]
        slowest = max(r[1] for r in results)
        assert slowest <= BOUND_S, f"slowest request took {slowest:.2f} s > {BOUND_S} s"
        ok = sum(1 for r in results if r[0] == 200)
        shed = [r for r in results if r[0] == 503]
        codes = {
            (r[2] or {}).get("error", {}).get("code") or (r[2] or {}).get("status") for r in shed
        }
        assert ok > 0 and shed, (ok, len(shed))
        assert all(r[3] == "1" for r in shed if r[2] and "error" in r[2])  # Retry-After
        print(
            f"\n{len(results)} requests in {wall:.2f} s: {ok} ok, {len(shed)} × 503 {sorted(codes)}, slowest {slowest:.2f} s"
        )

        # the server keeps serving once the load and the lock are gone
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ) as c:
            after = [c.get(f"/api/v1/invoices/{i}").status_code for i in ids]
            assert after == [200] * len(ids)
            assert c.get("/readyz").status_code == 200
        assert proc.poll() is None
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        exhausted = [e for e in lines if e["event"] in ("db.pool_exhausted", "db.unavailable")]
        if any(c in codes for c in ("pool_exhausted", "db_unavailable")):
            assert exhausted and all(e.get("request_id") for e in exhausted)
    finally:
        proc.terminate()
        proc.wait(10)
