"""Self-checks of backups: the last good backup's age and the last restore drill's result
(declared by `fapiao.backup.plugin`; run by `fapiao.ops.checks`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fapiao.ops.checks import (
    FAIL,
    OK,
    SKIP,
    WARN,
    Check,
    Probe,
    ago,
    has_table,
    passed,
    skip_without_db,
)

COMPONENTS = {"backup": "backup", "drill": "backup"}
COMPONENT_NAMES = {"backup": ("备份与演练", "backups and drills")}
LIVE = ("backup", "drill")


def _backup_runs(probe: Probe) -> dict[str, Any] | None:
    assert probe.engine is not None
    if not has_table(probe.engine, "backup_runs"):
        return None
    try:
        from fapiao.backup.tables import last_runs
    except ImportError:
        return None
    return last_runs(probe.engine)


def check_backup(probe: Probe) -> Check:
    skipped = skip_without_db(probe, "backup")
    if skipped:
        return skipped
    runs = _backup_runs(probe)
    if runs is None:
        return Check(
            "backup", SKIP, "not_installed", "备份模块未安装", "backup module not installed"
        )
    last = runs["last_backup"]
    if last is None:
        return Check("backup", WARN, "backup_missing", "还没有成功的备份", "no good backup yet")
    age = float(runs["last_backup_age_s"] or 0)
    detail = last.get("detail") or {}
    data = {
        "age_s": int(age),
        "at": last["at"],
        "target": last["target"],
        "snapshot_id": last["snapshot_id"],
        "stored_bytes": detail.get("stored_bytes"),
        "plain_bytes": detail.get("plain_bytes"),
    }
    s = probe.settings
    level = FAIL if age > s.backup_fail_h * 3600 else WARN if age > s.backup_warn_h * 3600 else OK
    zh = f"最近成功备份于 {ago(age, 'zh')}（{last['target']}）"
    en = f"last good backup {ago(age)} ({last['target']})"
    return Check("backup", level, "ok" if level == OK else "backup_stale", zh, en, data)


def check_drill(probe: Probe) -> Check:
    skipped = skip_without_db(probe, "drill")
    if skipped:
        return skipped
    runs = _backup_runs(probe)
    if runs is None:
        return Check(
            "drill", SKIP, "not_installed", "备份模块未安装", "backup module not installed"
        )
    last = runs["last_drill"]
    if last is None:
        return Check("drill", WARN, "drill_missing", "还没有做过恢复演练", "no restore drill yet")
    age = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(last["at"])).total_seconds()
    data = {"at": last["at"], "status": last["status"], "age_s": int(age), "target": last["target"]}
    if last["status"] != "ok":
        problems = (last.get("detail") or {}).get("problems") or []
        why = "; ".join(str(p) for p in problems[:3])
        return Check(
            "drill",
            FAIL,
            "drill_failed",
            f"最近一次恢复演练失败：{why}",
            f"the last restore drill failed: {why}",
            data,
        )
    if age > probe.settings.drill_warn_days * 86400:
        return Check(
            "drill",
            WARN,
            "drill_stale",
            f"最近一次演练在 {ago(age, 'zh')}",
            f"the last drill was {ago(age)}",
            data,
        )
    return passed(
        "drill",
        f"最近演练成功（{ago(age, 'zh')}）",
        f"last drill passed ({ago(age)})",
        **data,
    )


CHECKS = {"backup": check_backup, "drill": check_drill}
