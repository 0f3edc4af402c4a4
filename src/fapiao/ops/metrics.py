"""Prometheus metrics for `/metrics`.

Two kinds:
- counted where things happen, in this process (the server): imports and rejects by finding code,
  parse time by format, authority calls by outcome and latency. The counters live below the ledger
  in `fapiao.telemetry.counters` (so the import path can count without importing this module);
  `exposition` serves their registry.
- read from the ledger at scrape time, so they hold for every process that writes it (the CLI,
  the sync worker): invoices, quarantined input by finding code, open repair tickets, the last
  self-check's levels, and what each registered capability's `metrics` module reads (outbox and
  breaker, reconcile findings, backups and drills: see `Capability.metrics`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from fapiao.telemetry.counters import REGISTRY

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
