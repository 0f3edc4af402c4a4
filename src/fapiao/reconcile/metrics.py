"""/metrics readings of reconciliation: findings by kind and state (declared by
`fapiao.reconcile.plugin`; read at scrape time by `fapiao.ops.metrics`)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, func, inspect, select


def collect(engine: Engine) -> Iterator[Metric]:
    if not inspect(engine).has_table("reconcile_actions"):  # not migrated yet
        return
    from fapiao.reconcile.schema import reconcile_actions as a

    g = GaugeMetricFamily(
        "fapiao_reconcile_findings",
        "Reconciliation findings by kind and state",
        labels=["kind", "state"],
    )
    with engine.connect() as conn:
        for kind, state, n in conn.execute(
            select(a.c.category, a.c.state, func.count()).group_by(a.c.category, a.c.state)
        ):
            g.add_metric([kind, state], n)
    yield g
