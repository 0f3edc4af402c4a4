"""/metrics readings of backups: the last good backup's age and size, the last drill's result
(declared by `fapiao.backup.plugin`; read at scrape time by `fapiao.ops.metrics`)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, inspect


def collect(engine: Engine) -> Iterator[Metric]:
    if not inspect(engine).has_table("backup_runs"):  # not migrated yet
        return
    from fapiao.backup.tables import last_runs

    runs = last_runs(engine)
    b, d = runs["last_backup"], runs["last_drill"]
    if b is not None:
        detail = b.get("detail") or {}
        yield GaugeMetricFamily(
            "fapiao_backup_age_seconds",
            "Age of the last good backup",
            value=runs["last_backup_age_s"] or 0,
        )
        size = GaugeMetricFamily(
            "fapiao_backup_bytes", "Size of the last good backup", labels=["kind"]
        )
        size.add_metric(["plain"], float(detail.get("plain_bytes") or 0))
        size.add_metric(["stored"], float(detail.get("stored_bytes") or 0))
        yield size
    if d is not None:
        yield GaugeMetricFamily(
            "fapiao_drill_ok",
            "The last restore drill passed (1) or failed (0)",
            value=1.0 if d["status"] == "ok" else 0.0,
        )
