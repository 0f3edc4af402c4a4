"""Notifications end to end on SQLite and PostgreSQL: channels and rules from the CLI, an event
raised by a real operation, delivery to a real SMTP server and a real webhook on loopback, a channel
that is down retried until it is up, parking after too many tries, secrets never listed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from fapiao import plugins
from fapiao.ledger.store import Ledger
from fapiao.notify import deliver, outbox
from fapiao.notify.events import render
from fapiao.notify.tables import notify_attempts, notify_messages
from tests.notify_support import Hook, Mailbox, cli


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.close()


def test_a_failed_backup_reaches_the_mailbox_in_chinese(
    ledger: Ledger, db_url: str, mailbox: Mailbox
) -> None:
    assert cli(db_url, "notify", "channel", "add", "finance", "--url", mailbox.url()).exit_code == 0
    added = cli(db_url, "notify", "rule", "add", "--event", "backup.failed", "--channel", "finance")
    assert added.exit_code == 0, added.output
    from fapiao.backup.tables import record_runs

    record_runs(  # what `backup create` records when a target fails
        ledger, "backup", [{"target": "/mnt/nas", "ok": False, "detail": {"error": "磁盘已满"}}]
    )
    sent = cli(db_url, "notify", "send", "--json")
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["sent"] == 1
    assert len(mailbox.mails) == 1
    text = mailbox.text()
    assert "备份失败" in text and "/mnt/nas" in text and "磁盘已满" in text
    assert "Backup to /mnt/nas failed" in text
    assert mailbox.mails[0]["to"] == "finance@example.com"


def test_notify_test_reports_delivery_and_failure(db_url: str, mailbox: Mailbox) -> None:
    cli(db_url, "notify", "channel", "add", "mail", "--url", mailbox.url())
    ok = cli(db_url, "notify", "test", "mail", "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    assert "测试消息" in mailbox.text()
    cli(db_url, "notify", "channel", "add", "nowhere", "--url", Hook().url())  # nobody listens
    down = cli(db_url, "notify", "test", "nowhere", "--json")
    assert down.exit_code == 1 and json.loads(down.output)["error"]
    # what went wrong, without the log's timestamp and level in front of it
    assert not re.match(r"\d{4}-\d\d-\d\d", json.loads(down.output)["error"])


def test_a_webhook_that_is_down_is_retried_and_the_ticket_is_filed_at_once(
    ledger: Ledger, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAPIAO_NOTIFY_RETRY_S", "0.2")
    hook = Hook()  # its port is chosen, nothing listens yet
    cli(db_url, "notify", "channel", "add", "desk", "--url", hook.url())
    cli(db_url, "notify", "rule", "add", "--event", "ticket.new", "--channel", "desk")
    started = time.monotonic()
    filed = cli(db_url, "ticket", "new", "--symptoms", "打印机卡纸", "--json")
    assert filed.exit_code == 0, filed.output
    assert time.monotonic() - started < 5  # the channel being down costs the ticket nothing
    first = deliver.deliver_due(ledger.engine)
    assert (first.sent, first.retrying) == (0, 1) and first.errors
    assert deliver.deliver_due(ledger.engine).sent == 0  # still backing off: not tried again yet
    hook.start()
    try:
        deadline = time.monotonic() + 10
        while not hook.posts and time.monotonic() < deadline:  # the next try, after its back-off
            deliver.deliver_due(ledger.engine)
            time.sleep(0.05)
        time.sleep(0.3)
        assert deliver.deliver_due(ledger.engine).sent == 0  # delivered once, not again
        assert len(hook.posts) == 1
        assert "打印机卡纸" in hook.posts[0]["message"]
        assert "报修" in hook.posts[0]["title"]
    finally:
        hook.close()
    with ledger.engine.connect() as conn:
        tries = conn.execute(select(notify_attempts.c.ok).order_by(notify_attempts.c.id)).all()
    assert [t.ok for t in tries][-1] == 1 and {t.ok for t in tries[:-1]} == {0}


def test_a_channel_down_for_good_is_parked_after_the_last_try(
    ledger: Ledger, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAPIAO_NOTIFY_RETRY_S", "0")
    monkeypatch.setenv("FAPIAO_NOTIFY_MAX_ATTEMPTS", "3")
    cli(db_url, "notify", "channel", "add", "gone", "--url", Hook().url())
    cli(db_url, "notify", "rule", "add", "--event", "check.failed", "--channel", "gone")
    plugins.notify(ledger.engine, "check.failed", None, failed=["disk"])
    rounds = [deliver.deliver_due(ledger.engine) for _ in range(4)]
    assert [(r.retrying, r.parked) for r in rounds] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert outbox.counts(ledger.engine)["parked"] == 1
    log = json.loads(cli(db_url, "notify", "log", "--json").output)
    assert log[0]["state"] == "parked" and log[0]["attempts"] == 3 and log[0]["last_error"]
    report = json.loads(cli(db_url, "check", "--json").output)
    (check,) = [c for c in report["checks"] if c["check"] == "notify"]
    assert check["level"] == "warn" and check["code"] == "notify_parked"


def test_rules_pick_the_tenant_and_the_event(ledger: Ledger, db_url: str) -> None:
    t1, problems = ledger.add_tenant(tax_id="91330106962172321C", name="北京某某科技有限公司")
    assert t1 is not None, problems
    hook = Hook()
    cli(db_url, "notify", "channel", "add", "bj", "--url", hook.url())
    ok = cli(db_url, "notify", "rule", "add", "--event", "sync.parked", "--channel", "bj",
             "--tenant", "91330106962172321C")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    plugins.notify(ledger.engine, "sync.parked", t1, count=2, reason="税号不符")
    plugins.notify(ledger.engine, "sync.parked", t1 + 1, count=1, reason="另一家")
    plugins.notify(ledger.engine, "check.failed", None, failed=["disk"])
    with ledger.engine.connect() as conn:
        queued = conn.execute(select(notify_messages.c.body)).scalars().all()
    assert len(queued) == 1 and "2 张发票上传被平台拒绝" in queued[0]
    assert cli(db_url, "notify", "rule", "add", "--event", "nope", "--channel", "bj").exit_code == 2


def test_secrets_in_channel_urls_are_never_listed(ledger: Ledger, db_url: str) -> None:
    secret_key = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    cli(db_url, "notify", "channel", "add", "wecom", "--url", f"wecombot://{secret_key}")
    cli(db_url, "notify", "channel", "add", "smtp", "--url",
        "mailto://clerk:s3cretpass@smtp.example.com?to=a@example.com")  # fmt: skip
    listed = cli(db_url, "notify", "channel", "list", "--json").output
    assert secret_key not in listed and "s3cretpass" not in listed
    assert "smtp.example.com" in listed and "wecombot://" in listed
    assert cli(db_url, "notify", "channel", "add", "x", "--url", "nope://x").exit_code == 2
    from fapiao.ledger.schema import events

    with ledger.engine.connect() as conn:  # who routed what where is in the audit chain…
        logged = (
            conn.execute(select(events.c.payload).where(events.c.action == "notify.channel_added"))
            .scalars()
            .all()
        )
    assert len(logged) == 2 and "wecombot://693***" in logged[0]
    assert secret_key not in " ".join(logged) and "s3cretpass" not in " ".join(
        logged
    )  # …not secrets
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_a_broken_outbox_never_fails_the_operation(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(notify_messages.delete())
    with ledger.engine.begin() as conn:  # the outbox gone: queuing fails, the caller goes on
        conn.exec_driver_sql("DROP TABLE notify_attempts")
        conn.exec_driver_sql("DROP TABLE notify_messages")
    plugins.notify(ledger.engine, "check.failed", None, failed=["disk"])


def test_the_reconcile_message_names_both_sides_with_amounts() -> None:
    msg = render(
        "reconcile.findings",
        {
            "tenant": "北京某某科技有限公司",
            "period": "2025-03",
            "missing_at_authority": 3,
            "missing_at_authority_total_fen": 113000,
            "missing_in_ledger": 2,
            "missing_in_ledger_total_fen": 22600,
            "mismatched": 1,
        },
    )
    assert "平台缺少我方 3 张（价税合计 1130.00 元）" in msg.body
    assert "我方缺少平台 2 张（价税合计 226.00 元）" in msg.body
    assert "the platform lacks 3" in msg.body and msg.body.endswith("/actions")
    with_gaps = render("reconcile.findings", {"tenant": "X"})
    assert "?" in with_gaps.body  # a missing figure shows, it does not stop the message


def test_two_deliverers_never_take_the_same_message(ledger: Ledger, db_url: str) -> None:
    cli(db_url, "notify", "channel", "add", "desk", "--url", Hook().url())
    cli(db_url, "notify", "rule", "add", "--event", "check.failed", "--channel", "desk")
    for n in range(5):
        plugins.notify(ledger.engine, "check.failed", None, failed=[f"disk{n}"])
    first = outbox.claim(ledger.engine, "host|1|a", limit=3)
    second = outbox.claim(ledger.engine, "host|2|b", limit=10)
    assert len(first) == 3 and len(second) == 2
    assert not {m.id for m in first} & {m.id for m in second}
    assert outbox.claim(ledger.engine, "host|3|c") == []  # all leased


def test_a_failed_check_from_the_command_line_is_told(
    ledger: Ledger, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli(db_url, "notify", "channel", "add", "ops", "--url", Hook().url())
    cli(db_url, "notify", "rule", "add", "--event", "check.failed", "--channel", "ops")
    assert cli(db_url, "check").exit_code in (0, 1)
    monkeypatch.setenv("FAPIAO_CHECK_DISK_FAIL_PCT", "100")  # no disk is that empty: disk fails
    assert cli(db_url, "check").exit_code == 1
    with ledger.engine.connect() as conn:
        bodies = conn.execute(select(notify_messages.c.body)).scalars().all()
    assert len(bodies) == 1 and "自检未通过：disk" in bodies[0]


def test_old_sent_messages_are_forgotten_parked_ones_kept(ledger: Ledger, db_url: str) -> None:
    hook = Hook().start()
    try:
        cli(db_url, "notify", "channel", "add", "desk", "--url", hook.url())
        cli(db_url, "notify", "rule", "add", "--event", "check.failed", "--channel", "desk")
        plugins.notify(ledger.engine, "check.failed", None, failed=["disk"])
        assert deliver.deliver_due(ledger.engine).sent == 1
    finally:
        hook.close()
    assert outbox.prune(ledger.engine) == 0  # sent today: kept
    assert outbox.prune(ledger.engine, keep_days=-1) == 1
    with ledger.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(notify_attempts)) == 0


def test_a_message_for_a_removed_channel_is_parked_at_once(ledger: Ledger, db_url: str) -> None:
    cli(db_url, "notify", "channel", "add", "old", "--url", Hook().url())
    cli(db_url, "notify", "rule", "add", "--event", "check.failed", "--channel", "old")
    plugins.notify(ledger.engine, "check.failed", None, failed=["disk"])
    assert cli(db_url, "notify", "channel", "remove", "old").exit_code == 0
    done = deliver.deliver_due(ledger.engine)
    assert (done.parked, done.retrying) == (1, 0) and "no channel old" in done.errors[0]
