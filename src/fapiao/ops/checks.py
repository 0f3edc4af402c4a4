"""The self-check: each check is a function `(Probe) -> Check`, a finding with a level.

Levels: `ok`, `warn` (look at it soon), `fail` (something is broken: `fapiao check` exits 1),
`skip` (cannot be judged here: the capability is not installed, or the database is unreachable).
A check never raises: an exception inside it is reported as its failure.

Thresholds come from `Settings` (each one has an environment variable, see `Settings.from_env`).
"""

from __future__ import annotations

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
}
COMPONENT_NAMES: dict[str, tuple[str, str]] = {
    "database": ("数据库", "database"),
    "storage": ("存储与原始文件", "storage and original files"),
    "audit": ("审计链", "audit chain"),
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
        return components().get(self.name, self.name)

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


def passed(name: str, zh: str, en: str, **data: Any) -> Check:
    return Check(name, OK, "ok", zh, en, data)


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def skip_without_db(probe: Probe, name: str) -> Check | None:
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


def age_text(seconds: float, lang: str = "en") -> str:
    """How long, in the unit that reads best: '7 min', or in Chinese '7 分钟'."""
    units = _AGE_UNITS_ZH if lang == "zh" else _AGE_UNITS
    if seconds < 120:
        return f"{int(seconds)} {units[0]}"
    if seconds < 7200:
        return f"{int(seconds // 60)} {units[1]}"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} {units[2]}"
    return f"{seconds / 86400:.1f} {units[3]}"


_AGE_UNITS = ("s", "min", "h", "d")
_AGE_UNITS_ZH = ("秒", "分钟", "小时", "天")


def ago(seconds: float, lang: str = "en") -> str:
    """How long ago: '7 min ago', in Chinese '7 分钟前'."""
    return f"{age_text(seconds, 'zh')}前" if lang == "zh" else f"{age_text(seconds)} ago"


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
    return passed("database", "数据库可连接", "database reachable", **data)


def check_writable(probe: Probe) -> Check:
    """Commits a heartbeat row (`ops_state`), so a full disk or a read-only database shows."""
    skipped = skip_without_db(probe, "writable")
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
    return passed("writable", "数据库可写入", "database takes writes")


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
    return passed("migrations", "数据库结构为最新", "migrations current", **data)


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
        return passed("disk", "磁盘空间充足", "enough free disk space", paths=rows)
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
    skipped = skip_without_db(probe, "originals")
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
    return passed(
        "originals",
        f"已复核 {result.checked}/{result.total} 个原始文件（{result.mode}）",
        f"re-hashed {result.checked} of {result.total} original files ({result.mode})",
        **data,
    )


def check_audit(probe: Probe) -> Check:
    skipped = skip_without_db(probe, "audit")
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
    return passed(
        "audit", f"审计链完好（{events} 个事件）", f"audit chain intact ({events} events)", **data
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
}
READY = ("database", "migrations", "writable", "disk")  # /readyz: can this instance serve?
LIVE = ("database", "migrations", "disk")  # status page, cheap (with each capability's LIVE)


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
    out = dict(ALL)
    for module in _declared():
        out.update(module.CHECKS)
    return out


def components() -> dict[str, str]:
    """check name -> status-page component, the generic ones and each capability's `COMPONENTS`."""
    out = dict(COMPONENTS)
    for module in _declared():
        out.update(getattr(module, "COMPONENTS", {}))
    return out


def component_names() -> dict[str, tuple[str, str]]:
    """component -> (Chinese, English), in the status page's order."""
    out = dict(COMPONENT_NAMES)
    for module in _declared():
        out.update(getattr(module, "COMPONENT_NAMES", {}))
    return out


def live() -> tuple[str, ...]:
    """The cheap checks the status page runs on every view (each capability's `LIVE` added)."""
    return LIVE + tuple(n for m in _declared() for n in getattr(m, "LIVE", ()))


def _declared() -> list[Any]:
    from fapiao.plugins import load

    return load("checks")


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
