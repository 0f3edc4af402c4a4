"""The self-check, broken on purpose one check at a time: a corrupted original, an edited event,
migrations behind, a stopped sandbox, an open breaker and an old outbox, a failed drill, a stale
backup, the original-file rotation. PostgreSQL stopped and a full disk are in test_ops_faults.py."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import text, update

from fapiao.ingest import import_paths
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger
from fapiao.ops.checks import Settings, run_checks
from fapiao.ops.history import daily, record_run
from fapiao.ops.probe import make_probe
from fapiao_dev.sandbox.run import SandboxThread
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli, write_invoice


def seeded(ledger: Ledger, tmp: Path, n: int = 6) -> InvoiceFactory:
    f = InvoiceFactory(seed=5)
    ledger.add_tenant(tax_id=f.home.tax_id, name=f.home.name)
    for i in range(n):
        write_invoice(tmp / "in" / f"{i}.json", f.invoice())
    summary = import_paths(ledger, [tmp / "in"])
    assert len(summary.imported) == n
    return f


def check(
    db_url: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    proc = run_cli("--db", db_url, "check", "--json", *extra, env=env or {})
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in report["checks"]}


def test_healthy_ledger_passes_and_the_run_is_kept(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    seeded(ledger, tmp_path)
    rc, report = check(db_url)
    checks = by_name(report)
    assert rc == 0 and report["ok"], report
    for name in (
        "database",
        "migrations",
        "writable",
        "disk",
        "originals",
        "audit",
        "outbox",
        "breaker",
    ):
        assert checks[name]["level"] == "ok", checks[name]
    assert (
        checks["originals"]["data"]["checked"] == 6 and checks["originals"]["data"]["mode"] == "all"
    )
    assert checks["authority"]["level"] == "skip"  # none configured
    assert (
        checks["backup"]["code"] == "backup_missing" and checks["drill"]["code"] == "drill_missing"
    )
    assert report["recorded"]
    # the run is in the history and in the audit chain, which still verifies
    history = daily(ledger.engine, days=30)
    today = history["database"][-1]
    assert today["level"] == "ok" and today["date"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert run_cli("--db", db_url, "audit", "verify").returncode == 0
    with ledger.engine.connect() as conn:
        actions = [
            r[0]
            for r in conn.execute(text("SELECT action FROM events WHERE action = 'ops.checked'"))
        ]
    assert actions == ["ops.checked"]


def test_a_corrupted_original_is_named(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    seeded(ledger, tmp_path)
    inv = schema.invoices
    with ledger.engine.begin() as conn:
        row = conn.execute(inv.select().limit(1)).first()
        assert row is not None
        conn.execute(
            update(schema.blobs)
            .where(schema.blobs.c.sha256 == row.original_sha256)
            .values(data=b"{}")
        )
    rc, report = check(db_url)
    originals = by_name(report)["originals"]
    assert rc == 1 and originals["level"] == "fail" and originals["code"] == "original_damaged"
    assert originals["data"]["damaged"][0]["sha256"] == row.original_sha256
    assert f"invoice {row.id}" in originals["data"]["damaged"][0]["where"]


def test_an_edited_event_breaks_the_audit_check(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    seeded(ledger, tmp_path)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'mallory' WHERE seq = 3"))
    report = run_checks(make_probe(None, engine=ledger.engine)).to_json()
    audit = by_name(report)["audit"]
    assert not report["ok"] and audit["level"] == "fail" and audit["code"] == "audit_broken"
    assert "event 3" in audit["message_en"]


def test_the_newest_events_are_verified_when_the_chain_is_long(
    ledger: Ledger, tmp_path: Path
) -> None:
    seeded(ledger, tmp_path)
    settings = Settings(audit_full_below=1, audit_tail=5)
    probe = make_probe(None, engine=ledger.engine, settings=settings)
    assert {c.name: c.level for c in run_checks(probe, ["audit"]).checks}["audit"] == "ok"
    with ledger.engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM events")).scalar()
        conn.execute(text(f"UPDATE events SET payload = '{{}}' WHERE seq = {last - 1}"))
    audit = run_checks(make_probe(None, engine=ledger.engine, settings=settings), ["audit"]).checks[
        -1
    ]
    assert (
        audit.level == "fail" and audit.data["mode"] == "tail" and f"event {last - 1}" in audit.en
    )


def test_migrations_behind_fail_and_table_checks_skip(ledger: Ledger, db_url: str) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = '0007'"))
    probe = make_probe(None, engine=ledger.engine)
    checks = {c.name: c for c in run_checks(probe).checks}
    assert checks["migrations"].level == "fail" and "0007" in checks["migrations"].en
    assert checks["originals"].level == "skip" and checks["originals"].code == "schema_behind"


def test_a_stopped_sandbox_is_reported(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    def authority_check() -> dict[str, Any]:
        probe = make_probe(None, engine=ledger.engine, authority=url)
        return run_checks(probe, ["authority"]).checks[-1].to_json()

    with SandboxThread(tmp_path / "sb") as sb:
        url = sb.url
        assert authority_check()["level"] == "ok"
    authority = authority_check()
    assert authority["level"] == "fail" and authority["code"] == "authority_unreachable"
    assert url in authority["message_en"]


def test_open_breaker_and_old_outbox_are_reported(ledger: Ledger, tmp_path: Path) -> None:
    from fapiao.sync.breaker import Breaker

    seeded(ledger, tmp_path)
    breaker = Breaker(ledger, threshold=1)
    breaker.failure("unreachable: ConnectError")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)).isoformat()
    with ledger.engine.begin() as conn:
        conn.execute(text(f"UPDATE sync_outbox SET created_at = '{old}'"))
    checks = {c.name: c for c in run_checks(make_probe(None, engine=ledger.engine)).checks}
    assert checks["breaker"].level == "warn" and "ConnectError" in checks["breaker"].en
    assert checks["outbox"].level == "warn" and checks["outbox"].data["depth"] == 6
    assert checks["outbox"].data["oldest_age_s"] > 4 * 3600
    strict = Settings(outbox_fail_s=3600, breaker_fail_s=0)
    checks = {
        c.name: c
        for c in run_checks(make_probe(None, engine=ledger.engine, settings=strict)).checks
    }
    assert checks["outbox"].level == "fail" and checks["breaker"].level == "fail"


def test_failed_drill_and_stale_backup_are_reported(ledger: Ledger) -> None:
    from fapiao.backup.tables import backup_runs, record_runs

    record_runs(
        ledger,
        "backup",
        [{"target": "/mnt/b", "snapshot_id": "s1", "ok": True, "detail": {"stored_bytes": 10}}],
    )
    record_runs(
        ledger,
        "drill",
        [
            {
                "target": "/mnt/b",
                "snapshot_id": "s1",
                "ok": False,
                "detail": {"problems": ["row count differs"]},
            }
        ],
    )
    checks = {c.name: c for c in run_checks(make_probe(None, engine=ledger.engine)).checks}
    assert checks["backup"].level == "ok" and checks["backup"].data["stored_bytes"] == 10
    assert checks["drill"].level == "fail" and "row count differs" in checks["drill"].en
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    with ledger.engine.begin() as conn:
        conn.execute(update(backup_runs).where(backup_runs.c.kind == "backup").values(at=old))
    checks = {c.name: c for c in run_checks(make_probe(None, engine=ledger.engine)).checks}
    assert checks["backup"].level == "warn" and checks["backup"].code == "backup_stale"


def test_rotation_rehashes_every_original_within_the_cycle(ledger: Ledger, tmp_path: Path) -> None:
    from fapiao.ops.originals import STATE, rehash
    from fapiao.ops.state import put_state

    seeded(ledger, tmp_path, n=10)
    settings = Settings(originals_all_below=1, originals_cycle_days=4)
    day0 = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
    seen: list[int] = []
    for day in range(4):  # four daily runs of a four-day cycle
        result = rehash(ledger.engine, settings, now=day0 + dt.timedelta(days=day))
        assert result.mode == "rotation" and not result.damaged
        seen.append(result.checked)
        assert result.next_state is not None
        put_state(ledger.engine, STATE, result.next_state)
    assert sum(seen) == 10 and all(n > 0 for n in seen), seen
    assert result.next_state["cursor"] == ""  # the cycle is complete: the next starts over
    # a missed week is caught up at once: the overdue cycle is finished by the next run
    put_state(ledger.engine, STATE, {"cursor": "", "cycle_started": day0.isoformat()})
    late = rehash(ledger.engine, settings, now=day0 + dt.timedelta(days=9))
    assert late.checked == 10
    # the check reports the rotation and record_run keeps its cursor
    report = run_checks(make_probe(None, engine=ledger.engine, settings=settings), ["originals"])
    assert report.checks[-1].data["mode"] == "rotation"
    record_run(Ledger(ledger.engine, actor="ops"), report, source="daily")


def test_ages_read_in_the_reader_s_language():
    from fapiao.ops.checks import age_text, ago

    assert age_text(420, "zh") == "7 分钟" and age_text(420) == "7 min"
    assert age_text(30, "zh") == "30 秒" and age_text(3 * 86400, "zh") == "3.0 天"
    assert ago(420, "zh") == "7 分钟前" and ago(420) == "7 min ago"
