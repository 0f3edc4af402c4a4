"""The self-check: each check is a function `(Probe) -> Check`, a finding with a level.

Levels: `ok`, `warn` (look at it soon), `fail` (something is broken: `fapiao check` exits 1),
`skip` (cannot be judged here: the capability is not installed, or the database is unreachable).
A check never raises: an exception inside it is reported as its failure.

Thresholds come from `Settings` (each one has an environment variable, see `Settings.from_env`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, inspect, select

from fapiao.ledger import db as ledger_db

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
RANK = {SKIP: 0, OK: 1, WARN: 2, FAIL: 3}

# check name -> status-page component
COMPONENTS: dict[str, str] = {
    "database": "database",
    "writable": "database",
    "migrations": "database",
    "disk": "storage",
    "originals": "storage",
    "audit": "audit",
    "outbox": "sync",
    "breaker": "sync",
    "authority": "sync",
    "backup": "backup",
    "drill": "backup",
}
COMPONENT_NAMES: dict[str, tuple[str, str]] = {
    "database": ("数据库", "database"),
    "storage": ("存储与原始文件", "storage and original files"),
    "audit": ("审计链", "audit chain"),
    "sync": ("税务平台同步", "sync with the tax platform"),
    "backup": ("备份与演练", "backups and drills"),
}


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True, slots=True)
class Settings:
    """Thresholds; each field reads `FAPIAO_CHECK_<FIELD>` (upper case) from the environment."""

    disk_fail_mb: float = 200.0  # free space below this fails
    disk_warn_mb: float = 1024.0
    disk_fail_pct: float = 2.0  # or below this share of the filesystem
    disk_warn_pct: float = 10.0
    originals_all_below: int = 100_000  # re-hash every original below this many; else a rotation
    originals_cycle_days: float = 28.0  # each original re-hashed at least once per cycle
    audit_full_below: int = 1_000_000  # walk the whole chain below this many events
    audit_tail: int = 20_000  # else verify the newest this many events and the head
    outbox_warn_s: float = 3600.0  # oldest unsent entry older than this warns
    outbox_fail_s: float = 3 * 86400.0
    breaker_fail_s: float = 86400.0  # open (offline) this long or longer fails
    backup_warn_h: float = 26.0
    backup_fail_h: float = 7 * 24.0
    drill_warn_days: float = 35.0
    authority_timeout_s: float = 3.0

    @classmethod
    def from_env(cls) -> Settings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(f"FAPIAO_CHECK_{f.name.upper()}")
            if raw is None:
                continue
            try:
                values[f.name] = type(f.default)(float(raw))  # type: ignore[operator]
            except ValueError:
                continue
        return cls(**values)


@dataclass(slots=True)
class Check:
    name: str
    level: str
    code: str
    zh: str
    en: str
    data: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0

    @property
    def component(self) -> str:
        return COMPONENTS.get(self.name, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "component": self.component,
            "level": self.level,
            "code": self.code,
            "message": self.zh,
            "message_en": self.en,
            "data": self.data,
            "duration_ms": self.duration_ms,
        }


@dataclass(slots=True)
class Probe:
    """What the checks look at: the engine, where files live, the authority, the thresholds."""

    engine: Engine | None
    url: str = ""
    settings: Settings = field(default_factory=Settings.from_env)
    authority: str | None = None
    paths: list[Path] = field(default_factory=list)
    db_error: str = ""  # set when the database check failed: dependent checks skip
    schema_error: str = ""  # set when migrations are not current: checks of tables skip
    state: dict[str, Any] = field(default_factory=dict)  # what record_run should persist

    @property
    def db_ok(self) -> bool:
        return self.engine is not None and not self.db_error


def _ok(name: str, zh: str, en: str, **data: Any) -> Check:
    return Check(name, OK, "ok", zh, en, data)


def _has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def _skip_without_db(probe: Probe, name: str) -> Check | None:
    if probe.db_ok and not probe.schema_error:
        return None
    if probe.db_ok:
        return Check(
            name,
            SKIP,
            "schema_behind",
            "数据库结构不是最新，未检查",
            "schema not current: not checked",
        )
    return Check(
        name, SKIP, "db_unreachable", "数据库不可达，无法检查", "database unreachable: not checked"
    )


def _age_text(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


# --- the database ------------------------------------------------------------------------------


def check_database(probe: Probe) -> Check:
    if probe.engine is None:
        probe.db_error = probe.db_error or "no engine"
        return Check(
            "database", FAIL, "db_unreachable", "无法连接数据库", "cannot open the database"
        )
    try:
        with probe.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()
            data: dict[str, Any] = {"dialect": probe.engine.dialect.name}
            if ledger_db.is_postgres(probe.engine):
                data["size_bytes"] = conn.exec_driver_sql(
                    "SELECT pg_database_size(current_database())"
                ).scalar()
            pool = probe.engine.pool
            data["pool"] = pool.status() if hasattr(pool, "status") else ""
    except Exception as exc:
        probe.db_error = _first_line(exc)
        return Check(
            "database",
            FAIL,
            "db_unreachable",
            f"数据库不可达：{probe.db_error}",
            f"database unreachable: {probe.db_error}",
        )
    return _ok("database", "数据库可连接", "database reachable", **data)


def check_writable(probe: Probe) -> Check:
    """Commits a heartbeat row (`ops_state`), so a full disk or a read-only database shows."""
    skipped = _skip_without_db(probe, "writable")
    if skipped:
        return skipped
    from fapiao.ops.state import put_state

    assert probe.engine is not None
    try:
        put_state(probe.engine, "heartbeat", {"pid": os.getpid()}, busy_ms=3000)
    except Exception as exc:
        text = _first_line(exc)
        busy = "locked" in text.lower() or "lock timeout" in text.lower()
        return Check(
            "writable",
            WARN if busy else FAIL,
            "db_busy" if busy else "db_not_writable",
            f"数据库{'正忙（另一写入持锁）' if busy else '无法写入'}：{text}",
            f"database {'busy (another writer holds the lock)' if busy else 'not writable'}: {text}",
        )
    return _ok("writable", "数据库可写入", "database takes writes")


def check_migrations(probe: Probe) -> Check:
    if not probe.db_ok:
        return Check(
            "migrations",
            SKIP,
            "db_unreachable",
            "数据库不可达，无法检查",
            "database unreachable: not checked",
        )
    assert probe.engine is not None
    current = ledger_db.current_revisions(probe.engine)
    heads = ledger_db.head_revisions()
    missing, unknown = sorted(heads - current), sorted(current - heads)
    data = {"current": sorted(current), "heads": sorted(heads)}
    if missing:
        probe.schema_error = ", ".join(missing)
    if missing or unknown:
        zh = (
            f"缺少迁移 {', '.join(missing)}（运行任一 fapiao 命令即可升级）" if missing else ""
        ) + (f" 数据库含未知版本 {', '.join(unknown)}（程序比数据库旧）" if unknown else "")
        en = (
            f"migrations not applied: {', '.join(missing)} (any fapiao command upgrades)"
            if missing
            else ""
        ) + (
            f" unknown revisions in the database: {', '.join(unknown)} (the program is older)"
            if unknown
            else ""
        )
        return Check(
            "migrations",
            FAIL,
            "migrations_behind" if missing else "migrations_unknown",
            zh.strip(),
            en.strip(),
            data,
        )
    return _ok("migrations", "数据库结构为最新", "migrations current", **data)


# --- disk ---------------------------------------------------------------------------------------


def default_paths(url: str) -> list[Path]:
    """Where fapiao writes: the SQLite file's folder, the temp folder, and $FAPIAO_CHECK_PATHS."""
    paths = []
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        paths.append(Path(url[len("sqlite:///") :]).parent)
    paths.append(Path(tempfile.gettempdir()))
    for raw in os.environ.get("FAPIAO_CHECK_PATHS", "").split(os.pathsep):
        if raw.strip():
            paths.append(Path(raw.strip()))
    seen: set[Path] = set()
    return [p for p in paths if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]


def check_disk(probe: Probe) -> Check:
    s = probe.settings
    worst, rows = OK, []
    for path in probe.paths:
        try:
            usage = shutil.disk_usage(path)
        except OSError as exc:
            rows.append({"path": str(path), "error": exc.strerror or str(exc)})
            worst = FAIL
            continue
        free_mb = usage.free / 1048576
        pct = 100.0 * usage.free / usage.total if usage.total else 0.0
        level = (
            FAIL
            if free_mb < s.disk_fail_mb or pct < s.disk_fail_pct
            else WARN
            if free_mb < s.disk_warn_mb or pct < s.disk_warn_pct
            else OK
        )
        rows.append(
            {
                "path": str(path),
                "free_mb": round(free_mb, 1),
                "free_pct": round(pct, 1),
                "level": level,
            }
        )
        if RANK[level] > RANK[worst]:
            worst = level
    low = [r for r in rows if r.get("level", FAIL) != OK]
    if worst == OK:
        return _ok("disk", "磁盘空间充足", "enough free disk space", paths=rows)
    where = ", ".join(
        f"{r['path']} ({r['free_mb']} MB, {r['free_pct']}%)"
        if "free_mb" in r
        else f"{r['path']} ({r['error']})"
        for r in low
    )
    return Check(
        "disk",
        worst,
        "disk_full" if worst == FAIL else "disk_low",
        f"磁盘空间{'不足' if worst == FAIL else '偏低'}：{where}",
        f"disk space {'exhausted' if worst == FAIL else 'low'}: {where}",
        {"paths": rows},
    )


# --- originals and the audit chain --------------------------------------------------------------


def check_originals(probe: Probe) -> Check:
    skipped = _skip_without_db(probe, "originals")
    if skipped:
        return skipped
    from fapiao.ops import originals

    assert probe.engine is not None
    result = originals.rehash(probe.engine, probe.settings)
    probe.state["originals_cursor"] = result.next_state
    data = {
        "total": result.total,
        "checked": result.checked,
        "mode": result.mode,
        "damaged": result.damaged[:20],
    }
    if result.damaged:
        names = ", ".join(f"{d['sha256'][:12]}… ({d['where']})" for d in result.damaged[:5])
        return Check(
            "originals",
            FAIL,
            "original_damaged",
            f"{len(result.damaged)} 个原始文件与其 SHA-256 不符：{names}",
            f"{len(result.damaged)} original file(s) no longer match their SHA-256: {names}",
            data,
        )
    return _ok(
        "originals",
        f"已复核 {result.checked}/{result.total} 个原始文件（{result.mode}）",
        f"re-hashed {result.checked} of {result.total} original files ({result.mode})",
        **data,
    )


def check_audit(probe: Probe) -> Check:
    skipped = _skip_without_db(probe, "audit")
    if skipped:
        return skipped
    from fapiao.ops.chain import verify_tail

    assert probe.engine is not None
    from fapiao.ledger import audit, schema

    with probe.engine.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(schema.events)) or 0
    if events <= probe.settings.audit_full_below:
        report = audit.verify(probe.engine)
        problems, mode = report.problems, "full"
    else:
        problems, mode = verify_tail(probe.engine, probe.settings.audit_tail), "tail"
    data = {"events": events, "mode": mode}
    if problems:
        first = problems[0]
        data["problems"] = [p.to_json() for p in problems[:10]]
        return Check(
            "audit",
            FAIL,
            "audit_broken",
            f"审计链被破坏：{first.message}",
            f"audit chain broken: {first.message_en}",
            data,
        )
    return _ok(
        "audit", f"审计链完好（{events} 个事件）", f"audit chain intact ({events} events)", **data
    )


# --- sync ---------------------------------------------------------------------------------------


def check_outbox(probe: Probe) -> Check:
    skipped = _skip_without_db(probe, "outbox")
    if skipped:
        return skipped
    assert probe.engine is not None
    if not _has_table(probe.engine, "sync_outbox"):
        return Check("outbox", SKIP, "not_installed", "同步模块未安装", "sync module not installed")
    from fapiao.ops.readings import outbox_reading

    r = outbox_reading(probe.engine)
    s = probe.settings
    age = r["oldest_age_s"]
    data = r
    if age > s.outbox_fail_s:
        level, code = FAIL, "outbox_stale"
    elif age > s.outbox_warn_s or r["parked"]:
        level, code = WARN, "outbox_stale" if age > s.outbox_warn_s else "outbox_parked"
    else:
        return _ok("outbox", f"待发 {r['depth']} 条", f"{r['depth']} waiting to be sent", **data)
    return Check(
        "outbox",
        level,
        code,
        f"待发 {r['depth']} 条，最早的已等待 {_age_text(age)}；搁置 {r['parked']} 条",
        f"{r['depth']} waiting, the oldest for {_age_text(age)}; {r['parked']} parked",
        data,
    )


def check_breaker(probe: Probe) -> Check:
    skipped = _skip_without_db(probe, "breaker")
    if skipped:
        return skipped
    assert probe.engine is not None
    if not _has_table(probe.engine, "sync_state"):
        return Check(
            "breaker", SKIP, "not_installed", "同步模块未安装", "sync module not installed"
        )
    from fapiao.ops.readings import breaker_reading

    b = breaker_reading(probe.engine)
    if b["state"] == "closed":
        return _ok("breaker", "熔断器闭合（在线）", "circuit breaker closed (online)", **b)
    open_s = b["open_for_s"]
    level = FAIL if open_s >= probe.settings.breaker_fail_s else WARN
    return Check(
        "breaker",
        level,
        "breaker_open",
        f"熔断器打开（离线模式）已 {_age_text(open_s)}：{b['reason']}",
        f"circuit breaker open (offline) for {_age_text(open_s)}: {b['reason']}",
        b,
    )


def check_authority(probe: Probe) -> Check:
    url = probe.authority
    if not url:
        return Check(
            "authority",
            SKIP,
            "not_configured",
            "未配置税务平台地址（$FAPIAO_AUTHORITY）",
            "no authority configured ($FAPIAO_AUTHORITY)",
        )
    try:
        from fapiao.authority import errors
        from fapiao.authority.http import HttpConnector
    except ImportError:
        return Check(
            "authority",
            SKIP,
            "not_installed",
            "平台连接模块未安装",
            "authority module not installed",
        )
    t = probe.settings.authority_timeout_s
    started = time.monotonic()
    try:
        with HttpConnector(url, timeout=t, connect_timeout=t) as conn:
            conn.health()
    except errors.AuthorityError as exc:
        return Check(
            "authority",
            FAIL,
            "authority_unreachable",
            f"税务平台不可达（{url}）：{exc.reason}",
            f"authority unreachable ({url}): {exc.reason}",
            {"url": url},
        )
    ms = int((time.monotonic() - started) * 1000)
    return _ok(
        "authority",
        f"税务平台可达（{ms} ms）",
        f"authority reachable ({ms} ms)",
        url=url,
        latency_ms=ms,
    )


# --- backups ------------------------------------------------------------------------------------


def _backup_runs(probe: Probe) -> dict[str, Any] | None:
    assert probe.engine is not None
    if not _has_table(probe.engine, "backup_runs"):
        return None
    try:
        from fapiao.backup.tables import last_runs
    except ImportError:
        return None
    return last_runs(probe.engine)


def check_backup(probe: Probe) -> Check:
    skipped = _skip_without_db(probe, "backup")
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
    zh = f"最近成功备份于 {_age_text(age)} 前（{last['target']}）"
    en = f"last good backup {_age_text(age)} ago ({last['target']})"
    return Check("backup", level, "ok" if level == OK else "backup_stale", zh, en, data)


def check_drill(probe: Probe) -> Check:
    skipped = _skip_without_db(probe, "drill")
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
            f"最近一次演练在 {_age_text(age)} 前",
            f"the last drill was {_age_text(age)} ago",
            data,
        )
    return _ok(
        "drill",
        f"最近演练成功（{_age_text(age)} 前）",
        f"last drill passed ({_age_text(age)} ago)",
        **data,
    )


# --- running them -------------------------------------------------------------------------------

CheckFn = Callable[[Probe], Check]
ALL: dict[str, CheckFn] = {
    "database": check_database,
    "migrations": check_migrations,
    "writable": check_writable,
    "disk": check_disk,
    "originals": check_originals,
    "audit": check_audit,
    "outbox": check_outbox,
    "breaker": check_breaker,
    "authority": check_authority,
    "backup": check_backup,
    "drill": check_drill,
}
READY = ("database", "migrations", "writable", "disk")  # /readyz: can this instance serve?
LIVE = (
    "database",
    "migrations",
    "disk",
    "outbox",
    "breaker",
    "backup",
    "drill",
)  # status page, cheap


@dataclass(slots=True)
class Report:
    checks: list[Check]
    duration_ms: int
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return worst(c.level for c in self.checks)

    @property
    def ok(self) -> bool:
        return all(c.level != FAIL for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "level": self.level,
            "duration_ms": self.duration_ms,
            "checks": [c.to_json() for c in self.checks],
        }


def worst(levels: Any) -> str:
    out = SKIP
    for level in levels:
        if RANK.get(level, 0) > RANK[out]:
            out = level
    return out if out != SKIP else OK


def all_checks() -> dict[str, CheckFn]:
    """The generic checks and those every registered capability declares (`CHECKS` dicts)."""
    from fapiao.plugins import load

    out = dict(ALL)
    for module in load("checks"):
        out.update(module.CHECKS)
    return out


def run_checks(probe: Probe, names: tuple[str, ...] | list[str] | None = None) -> Report:
    started = time.monotonic()
    known = all_checks()
    wanted = list(names or known)
    for needed in ("migrations", "database"):  # the others depend on these answers
        if needed not in wanted:
            wanted.insert(0, needed)
    out = []
    for name in wanted:
        t0 = time.monotonic()
        try:
            check = known[name](probe)
        except Exception as exc:
            text = _first_line(exc)
            check = Check(
                name, FAIL, "check_crashed", f"检查出错：{text}", f"the check failed to run: {text}"
            )
        check.duration_ms = int((time.monotonic() - t0) * 1000)
        out.append(check)
    return Report(out, int((time.monotonic() - started) * 1000), dict(probe.state))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)[:300]
