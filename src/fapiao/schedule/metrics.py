"""/metrics: each schedule's last result and when it is next due."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, inspect, select

from fapiao.schedule.tables import schedule_jobs as sj


def collect(engine: Engine) -> Iterator[Metric]:
    if not inspect(engine).has_table(sj.name):
        return
    ok = GaugeMetricFamily(
        "fapiao_schedule_last_ok",
        "1 when the schedule's last run succeeded",
        labels=["name", "job"],
    )
    due = GaugeMetricFamily(
        "fapiao_schedule_next_run_seconds", "When the schedule is next due (unix)", labels=["name"]
    )
    with engine.connect() as conn:
        for r in conn.execute(select(sj.c.name, sj.c.job, sj.c.last_ok, sj.c.next_at)):
            if r.last_ok is not None:
                ok.add_metric([r.name, r.job], float(r.last_ok))
            due.add_metric([r.name], r.next_at)
    yield ok
    yield due
