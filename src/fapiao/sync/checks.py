"""Self-checks of sync with the tax platform: the outbox's age, the circuit breaker, the platform
itself (declared by `fapiao.sync.plugin`; run by `fapiao.ops.checks`)."""

from __future__ import annotations

import time

from fapiao.ops.checks import (
    FAIL,
    SKIP,
    WARN,
    Check,
    Probe,
    age_text,
    has_table,
    passed,
    skip_without_db,
)

COMPONENTS = {"outbox": "sync", "breaker": "sync", "authority": "sync"}
COMPONENT_NAMES = {"sync": ("税务平台同步", "sync with the tax platform")}
LIVE = ("outbox", "breaker")  # cheap: the status page runs them on every view


def check_outbox(probe: Probe) -> Check:
    skipped = skip_without_db(probe, "outbox")
    if skipped:
        return skipped
    assert probe.engine is not None
    if not has_table(probe.engine, "sync_outbox"):
        return Check("outbox", SKIP, "not_installed", "同步模块未安装", "sync module not installed")
    from fapiao.sync.readings import outbox_reading

    r = outbox_reading(probe.engine)
    s = probe.settings
    age = r["oldest_age_s"]
    data = r
    if age > s.outbox_fail_s:
        level, code = FAIL, "outbox_stale"
    elif age > s.outbox_warn_s or r["parked"]:
        level, code = WARN, "outbox_stale" if age > s.outbox_warn_s else "outbox_parked"
    else:
        return passed("outbox", f"待发 {r['depth']} 条", f"{r['depth']} waiting to be sent", **data)
    return Check(
        "outbox",
        level,
        code,
        f"待发 {r['depth']} 条，最早的已等待 {age_text(age, 'zh')}；搁置 {r['parked']} 条",
        f"{r['depth']} waiting, the oldest for {age_text(age)}; {r['parked']} parked",
        data,
    )


def check_breaker(probe: Probe) -> Check:
    skipped = skip_without_db(probe, "breaker")
    if skipped:
        return skipped
    assert probe.engine is not None
    if not has_table(probe.engine, "sync_state"):
        return Check(
            "breaker", SKIP, "not_installed", "同步模块未安装", "sync module not installed"
        )
    from fapiao.sync.readings import breaker_reading

    b = breaker_reading(probe.engine)
    if b["state"] == "closed":
        return passed("breaker", "熔断器闭合（在线）", "circuit breaker closed (online)", **b)
    open_s = b["open_for_s"]
    level = FAIL if open_s >= probe.settings.breaker_fail_s else WARN
    return Check(
        "breaker",
        level,
        "breaker_open",
        f"熔断器打开（离线模式）已 {age_text(open_s, 'zh')}：{b['reason']}",
        f"circuit breaker open (offline) for {age_text(open_s)}: {b['reason']}",
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
    return passed(
        "authority",
        f"税务平台可达（{ms} ms）",
        f"authority reachable ({ms} ms)",
        url=url,
        latency_ms=ms,
    )


CHECKS = {"outbox": check_outbox, "breaker": check_breaker, "authority": check_authority}
