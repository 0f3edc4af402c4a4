"""/metrics: notification messages by state, so an alert can fire when people stop being told."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, inspect

from fapiao.notify.outbox import counts
from fapiao.notify.tables import notify_messages


def collect(engine: Engine) -> Iterator[Metric]:
    if not inspect(engine).has_table(notify_messages.name):
        return
    g = GaugeMetricFamily(
        "fapiao_notify_messages", "Notification messages by state", labels=["state"]
    )
    for state, n in sorted(counts(engine).items()):
        g.add_metric([state], n)
    yield g
