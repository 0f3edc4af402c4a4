"""/metrics readings of sync: outbox depth by state and oldest age, the breaker's state (declared by
`fapiao.sync.plugin`; read at scrape time by `fapiao.ops.metrics`)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, inspect


def collect(engine: Engine) -> Iterator[Metric]:
    if not inspect(engine).has_table("sync_outbox"):  # not migrated yet
        return
    from fapiao.sync.readings import breaker_reading, outbox_reading

    r = outbox_reading(engine)
    depth = GaugeMetricFamily("fapiao_outbox_depth", "Outbox entries by state", labels=["state"])
    for state in ("pending", "sent", "parked", "done"):
        depth.add_metric([state], r[state])
    yield depth
    yield GaugeMetricFamily(
        "fapiao_outbox_oldest_age_seconds",
        "Age of the oldest unsent outbox entry",
        value=r["oldest_age_s"],
    )
    b = breaker_reading(engine)
    g = GaugeMetricFamily(
        "fapiao_breaker_state", "Circuit breaker: 1 for the current state", labels=["state"]
    )
    for state in ("closed", "open", "half_open"):
        g.add_metric([state], 1.0 if b["state"] == state else 0.0)
    yield g
    yield GaugeMetricFamily(
        "fapiao_breaker_open_seconds",
        "How long the breaker has been open",
        value=b["open_for_s"],
    )
