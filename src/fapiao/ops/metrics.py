"""Prometheus metrics for `/metrics`.

Two kinds:
- counted where things happen, in this process (the server): imports and rejects by finding code,
  parse time by format, authority calls by outcome and latency. The hooks are one line each in
  `ingest` (`import_outcome`, `timed_parse`) and the HTTP connector (`MeteredTransport`).
- read from the ledger at scrape time, so they hold for every process that writes it (the CLI,
  the sync worker): invoices, quarantined input by finding code, open repair tickets, the last
  self-check's levels, and what each registered capability's `metrics` module reads (outbox and
  breaker, reconcile findings, backups and drills: see `Capability.metrics`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from fapiao.ops import logs

REGISTRY = CollectorRegistry(auto_describe=True)

IMPORTS = Counter(
    "fapiao_imports",
    "Import outcomes in this process (imported, duplicate, conflict, rejected)",
    ["outcome"],
    registry=REGISTRY,
)
REJECTS = Counter(
    "fapiao_rejects", "Rejected inputs in this process by finding code", ["code"], registry=REGISTRY
)
PARSE_SECONDS = Histogram(
    "fapiao_parse_seconds",
    "Time to parse one file, by format",
    ["format"],
    registry=REGISTRY,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
AUTHORITY_CALLS = Counter(
    "fapiao_authority_calls",
    "Calls to the tax platform by endpoint and outcome",
    ["endpoint", "outcome"],
    registry=REGISTRY,
)
AUTHORITY_SECONDS = Histogram(
    "fapiao_authority_call_seconds",
    "Latency of calls to the tax platform (to the response head)",
    ["endpoint", "outcome"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_REQUESTS = Counter(
    "fapiao_http_requests",
    "Web requests served, by method and status class",
    ["method", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "fapiao_http_request_seconds",
    "Web request duration",
    ["method"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SHED = Counter(
    "fapiao_http_shed",
    "Requests answered 503 because the server or its database pool was full",
    ["reason"],
    registry=REGISTRY,
)


# --- hooks ----------------------------------------------------------------------------------------


def import_outcome(outcome: Any) -> None:
    """Called by ingest for each outcome (imported / duplicate / conflict / rejected)."""
    IMPORTS.labels(outcome.status).inc()
    codes = [f.code for f in outcome.findings]
    if outcome.status == "rejected":
        for code in {f.code for f in outcome.findings if str(f.severity) == "error"} or {"unknown"}:
            REJECTS.labels(code).inc()
    if logs.enabled():
        logs.logger().info(
            "invoice.import",
            outcome=outcome.status,
            file=outcome.file,
            invoice_id=outcome.id,
            code=outcome.code,
            number=outcome.number,
            findings=codes,
        )


def timed_parse(data: bytes) -> list[Any]:
    """`parse_bytes` with its time recorded under the detected format's name."""
    from fapiao.parse import detect, parse_bytes

    module = detect(data)
    name = module.__name__.rsplit(".", 1)[-1] if module is not None else "unknown"
    started = time.perf_counter()
    try:
        return parse_bytes(data)
    finally:
        PARSE_SECONDS.labels(name).observe(time.perf_counter() - started)


_NUMBERISH = re.compile(r"^[0-9A-Za-z-]*\d[0-9A-Za-z-]*$")


def endpoint_of(path: str) -> str:
    """/api/v1/invoices/2411… -> /api/v1/invoices/{id}: bounded label values."""
    parts = [("{id}" if _NUMBERISH.match(p) and p not in ("v1",) else p) for p in path.split("/")]
    return "/".join(parts)[:80]


class MeteredTransport(httpx.BaseTransport):
    """An httpx transport that counts and times each call and sends the current request id."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        rid = logs.current("request_id")
        if rid and "x-request-id" not in request.headers:
            request.headers["X-Request-ID"] = rid
        endpoint = endpoint_of(request.url.path)
        started = time.perf_counter()
        outcome = "ok"
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException:
            outcome = "timeout"
            raise
        except httpx.TransportError:
            outcome = "unreachable"
            raise
        finally:
            if outcome != "ok":
                self._count(request, endpoint, outcome, started, None)
        code = response.status_code
        outcome = (
            "ok"
            if code < 400
            else "rate_limited"
            if code == 429
            else "rejected"
            if code < 500
            else "server_error"
        )
        self._count(request, endpoint, outcome, started, code)
        return response

    @staticmethod
    def _count(
        request: httpx.Request, endpoint: str, outcome: str, started: float, code: int | None
    ) -> None:
        seconds = time.perf_counter() - started
        AUTHORITY_CALLS.labels(endpoint, outcome).inc()
        AUTHORITY_SECONDS.labels(endpoint, outcome).observe(seconds)
        if logs.enabled():
            logs.logger().info(
                "authority.call",
                method=request.method,
                endpoint=endpoint,
                status=code,
                outcome=outcome,
                duration_ms=round(seconds * 1000, 2),
                idempotency_key=request.headers.get("idempotency-key", ""),
            )

    def close(self) -> None:
        self.inner.close()


def metered_transport() -> MeteredTransport:
    return MeteredTransport()


# --- readings from the ledger at scrape time ------------------------------------------------------


class LedgerCollector(Collector):
    """Gauges computed from the database when /metrics is scraped."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._quarantine_seen = 0  # highest quarantine id counted so far
        self._quarantine_codes: dict[str, int] = {}
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._invoices()
        yield from self._quarantine()
        yield from self._ops()
        from fapiao.plugins import load

        for module in load("metrics"):  # readings every registered capability declares
            yield from module.collect(self.engine)

    def _invoices(self) -> Iterator[Metric]:
        from fapiao.ledger import schema

        inv = schema.invoices
        g = GaugeMetricFamily(
            "fapiao_invoices", "Invoices in the ledger", labels=["direction", "authority_state"]
        )
        with self.engine.connect() as conn:
            for direction, state, n in conn.execute(
                select(inv.c.direction, inv.c.authority_state, func.count()).group_by(
                    inv.c.direction, inv.c.authority_state
                )
            ):
                g.add_metric([direction, state], n)
        yield g

    def _quarantine(self) -> Iterator[Metric]:
        from fapiao.ledger import schema

        q = schema.quarantine
        with self._lock, self.engine.connect() as conn:
            rows = conn.execution_options(yield_per=2000).execute(
                select(q.c.id, q.c.findings).where(q.c.id > self._quarantine_seen).order_by(q.c.id)
            )
            for qid, raw in rows:
                try:
                    codes = {
                        f.get("code", "unknown")
                        for f in json.loads(raw)
                        if f.get("severity") == "error"
                    }
                except (ValueError, AttributeError):
                    codes = {"unknown"}
                for code in codes or {"unknown"}:
                    self._quarantine_codes[code] = self._quarantine_codes.get(code, 0) + 1
                self._quarantine_seen = max(self._quarantine_seen, qid)
            snapshot = dict(self._quarantine_codes)
        g = GaugeMetricFamily(
            "fapiao_quarantined",
            "Rejected inputs kept in quarantine, by finding code",
            labels=["code"],
        )
        for code, n in sorted(snapshot.items()):
            g.add_metric([code], n)
        yield g

    def _ops(self) -> Iterator[Metric]:
        from fapiao.ops.tables import check_runs, tickets

        with self.engine.connect() as conn:
            open_tickets = dict(
                conn.execute(select(tickets.c.state, func.count()).group_by(tickets.c.state))
                .tuples()
                .all()
            )
            last = conn.execute(
                select(check_runs.c.at, check_runs.c.results)
                .order_by(check_runs.c.at.desc(), check_runs.c.id.desc())
                .limit(1)
            ).first()
        g = GaugeMetricFamily("fapiao_tickets", "Repair tickets by state", labels=["state"])
        for state, n in sorted(open_tickets.items()):
            g.add_metric([state], n)
        yield g
        if last is not None:
            levels = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}
            c = GaugeMetricFamily(
                "fapiao_check_level",
                "Last self-check per check: 0 ok, 1 warn, 2 fail",
                labels=["check"],
            )
            for item in json.loads(last.results):
                c.add_metric([item["check"]], levels.get(item["level"], 2))
            yield c


_collectors: dict[int, LedgerCollector] = {}


def exposition(engine: Engine) -> bytes:
    """The text format for one scrape: this process's counters and the ledger's readings."""
    registry = CollectorRegistry(auto_describe=False)
    key = id(engine)
    collector = _collectors.get(key)
    if collector is None or collector.engine is not engine:
        collector = _collectors[key] = LedgerCollector(engine)
    registry.register(collector)
    try:
        ledger_part = generate_latest(registry)
    except Exception as exc:  # the database is down: the process metrics still answer
        logging.getLogger("fapiao").debug("ledger metrics unavailable: %s", exc)
        ledger_part = b"# ledger readings unavailable: " + type(exc).__name__.encode() + b"\n"
    return generate_latest(REGISTRY) + ledger_part
