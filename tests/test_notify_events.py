"""Events raised by the real operations reach people: a scheduled reconcile against the platform's
export tells how many invoices each side lacks and their sum; the breaker opening and closing; an
incident opened by hand; and the deliverer and the scheduler running as `serve` runs them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from fapiao.contingency.incidents import open_incident
from fapiao.ledger.store import Ledger
from fapiao.notify import deliver
from fapiao.notify.tables import notify_messages
from fapiao.schedule import runner
from fapiao.sync.breaker import Breaker
from tests.notify_support import Hook, cli
from tests.test_reconcile_cli import (  # noqa: F401  (the fixture: a ledger a bit off the export)
    XLSX,
    db,
)


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook().start()
    yield h
    h.close()


def subscribe(db_url: str, hook: Hook, *events: str) -> None:
    assert cli(db_url, "notify", "channel", "add", "ops", "--url", hook.url()).exit_code == 0
    for event in events:
        assert (
            cli(db_url, "notify", "rule", "add", "--event", event, "--channel", "ops").exit_code
            == 0
        )


def queued(ledger: Ledger) -> list[tuple[str, str]]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(notify_messages.c.event, notify_messages.c.body)).all()
    return [(r.event, r.body) for r in rows]


def test_a_scheduled_reconcile_tells_what_each_side_lacks(
    db: str,  # noqa: F811
    ledger: Ledger,
    hook: Hook,
) -> None:
    subscribe(db, hook, "reconcile.findings")
    added = cli(db, "schedule", "add", "reconcile", "--every", "1d", "--", "--authority", str(XLSX))
    assert added.exit_code == 0, added.output
    ran = runner.run_due(ledger.engine, now=time.time() + 86401)  # as a day later
    assert ran["reconcile"].ok and "findings 3" in ran["reconcile"].summary
    assert deliver.deliver_due(ledger.engine).sent == 1
    (post,) = hook.posts
    assert "平台缺少我方 1 张" in post["message"] and "我方缺少平台 1 张" in post["message"]
    assert "金额不符 1 张" in post["message"] and "the platform lacks 1" in post["message"]
    assert "元" in post["message"] and "/actions" in post["message"]


def test_the_breaker_opening_and_closing_is_told(ledger: Ledger, db_url: str, hook: Hook) -> None:
    subscribe(db_url, hook, "sync.breaker_open", "sync.breaker_closed")
    breaker = Breaker(ledger, threshold=2)
    breaker.failure("connect timeout")
    assert queued(ledger) == []  # one failure is not an outage
    breaker.failure("connect timeout")
    breaker.failure("still down")  # a failed probe: no second message
    breaker.success()
    events = [e for e, _ in queued(ledger)]
    assert events == ["sync.breaker_open", "sync.breaker_closed"]
    assert "连续失败 2 次" in queued(ledger)[0][1] and "connect timeout" in queued(ledger)[0][1]


def test_an_incident_opened_by_hand_is_told(ledger: Ledger, db_url: str, hook: Hook) -> None:
    subscribe(db_url, hook, "incident.opened")
    iid = open_incident(ledger, tenant_id=None, title="北京系统查不到发票")
    ((event, body),) = queued(ledger)
    assert event == "incident.opened" and f"#{iid}" in body and "北京系统查不到发票" in body
    assert f"/contingency/incidents/{iid}" in body


def test_the_threads_serve_starts_deliver_and_run_on_their_own(
    ledger: Ledger, db_url: str, hook: Hook
) -> None:
    subscribe(db_url, hook, "backup.stale")
    cli(db_url, "schedule", "add", "reminders", "--every", "1s")
    stops = [deliver.start(db_url), runner.start(db_url)]
    try:
        deadline = time.monotonic() + 15
        while not hook.posts and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for stop in stops:
            stop.set()
    assert hook.posts and "备份过旧" in hook.posts[0]["title"]  # never backed up: stale
    assert "从未 never" in hook.posts[0]["message"]


def test_the_reminders_job_tells_of_actions_and_reissues_coming_due(
    db: str,  # noqa: F811
    ledger: Ledger,
    hook: Hook,
) -> None:
    import datetime as dt

    from fapiao.contingency import reissue
    from fapiao.reconcile.remedies import DUE_DAYS
    from fapiao.reconcile.run import run as reconcile

    subscribe(db, hook, "action.due", "reissue.due")
    reconcile(ledger, tenant=None, period=None, authority=str(XLSX))  # files 3 actions
    (tenant,) = ledger.tenant_rows()
    rid = reissue.create(
        ledger, tenant_id=tenant["id"], original_key="25312000000024681357", direction="received",
        counterparty_tax_id="91110108MA0TL7K20Q", counterparty_name="某供应商", total=11300,
        deadline=dt.date.today() + dt.timedelta(days=1),
    )  # fmt: skip
    cli(db, "schedule", "add", "reminders", "--every", "1d", "--", "--days", str(DUE_DAYS + 1))
    ran = runner.run_due(ledger.engine, now=time.time() + 86401)
    assert ran["reminders"].ok and "actions" in ran["reminders"].summary
    deliver.deliver_due(ledger.engine)
    by_title = {p["title"]: p["message"] for p in hook.posts}
    actions = next(m for t, m in by_title.items() if "对账事项即将到期" in t)
    assert "3 项对账事项" in actions and "25312000000024681357" in actions
    reissues = next(m for t, m in by_title.items() if "补开申请即将到期" in t)
    assert "1 份补开申请" in reissues and str(rid) in reissues
