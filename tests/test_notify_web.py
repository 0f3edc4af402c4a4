"""The web's /notify page on SQLite and PostgreSQL: a user adds their own e-mail as a channel,
subscribes to an event, and receives it by real mail only for their own company; secrets in channel
addresses are shown masked; nobody removes another's channel. And /schedule is for administrators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fapiao import plugins
from fapiao.notify import deliver, store
from tests.notify_support import Mailbox
from tests.test_web_support import Site, site  # noqa: F401  (the fixture)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.close()


def test_a_user_subscribes_their_email_for_their_company(
    site: Site,  # noqa: F811
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAPIAO_NOTIFY_MAILTO", mailbox.url().split("&to=")[0])
    engine = site.ledger.engine
    clerk = site.browser()
    assert clerk.login("accountant_a").status_code == 303
    page = clerk.get("/notify")
    assert page.status_code == 200 and "通知订阅" in page.text and 'href="/notify"' in page.text
    added = clerk.post("/notify/channels", data={"name": "me", "email": "clerk@example.com",
                                                 "csrf": clerk.csrf("/notify")})  # fmt: skip
    assert added.status_code == 303 and "error" not in added.headers["location"]
    assert "accountant_a.me" in clerk.get("/notify").text
    saved = clerk.post("/notify/subscriptions", data={"sub": ["ticket.new|accountant_a.me"],
                                                      "csrf": clerk.csrf("/notify")})  # fmt: skip
    assert saved.status_code == 303
    assert 'value="ticket.new|accountant_a.me" aria-label="ticket.new accountant_a.me" checked' in (
        clerk.get("/notify").text
    )
    (rule,) = store.list_rules(engine, owner="accountant_a")
    assert rule["tenant_id"] == site.tenant_a  # a user of one company hears of that company only
    plugins.notify(engine, "ticket.new", site.tenant_b, ticket_id=1, category="x", symptoms="B 的")
    plugins.notify(engine, "ticket.new", None, ticket_id=2, category="x", symptoms="全局")
    plugins.notify(
        engine, "ticket.new", site.tenant_a, ticket_id=3, category="print", symptoms="A 的"
    )
    assert deliver.deliver_due(engine).sent == 1
    (mail,) = mailbox.mails
    assert mail["to"] == "clerk@example.com" and "A 的" in mailbox.text()

    other = site.browser()
    other.login("viewer_b")
    refused = other.post("/notify/channels/accountant_a.me/remove", data={"csrf": other.csrf()})
    assert refused.status_code == 303 and "error" in refused.headers["location"]
    assert "accountant_a.me" not in other.get("/notify").text  # not even listed to others
    assert [c["name"] for c in store.list_channels(engine)] == ["accountant_a.me"]
    assert "check.failed" not in clerk.get("/notify").text  # the whole ledger's: not hers
    wide = clerk.post("/notify/subscriptions", data={"sub": ["check.failed|accountant_a.me"],
                                                     "csrf": clerk.csrf("/notify")})  # fmt: skip
    assert "error" in wide.headers["location"]
    bad = clerk.post("/notify/subscriptions", data={"sub": ["ticket.new|nobody"],
                                                    "csrf": clerk.csrf("/notify")})  # fmt: skip
    assert "error" in bad.headers["location"]


def test_secrets_stay_masked_on_the_page(site: Site) -> None:  # noqa: F811
    boss = site.browser()
    boss.login("admin_a")
    key = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    boss.post("/notify/channels", data={"name": "group", "url": f"wecombot://{key}",
                                        "csrf": boss.csrf("/notify")})  # fmt: skip
    page = boss.get("/notify").text
    assert "admin_a.group" in page and "wecombot://693***" in page and key not in page
    bad = boss.post("/notify/channels", data={"name": "x", "url": "nope://x", "csrf": boss.csrf()})
    assert "error" in bad.headers["location"]


def test_the_schedule_page_is_for_administrators(site: Site) -> None:  # noqa: F811
    from fapiao.schedule import runner, timing

    runner.add(site.ledger, "check", timing.When(cron="0 2 * * *"), [])
    boss = site.browser()
    boss.login("admin_a")
    page = boss.get("/schedule")
    assert page.status_code == 200 and 'data-schedule="check"' in page.text and "自检" in page.text
    viewer = site.browser()
    viewer.login("viewer_a")
    assert viewer.get("/schedule").status_code == 403
    assert 'href="/schedule"' not in viewer.get("/").text
    metrics = viewer.get("/metrics").text  # open to loopback scrapers
    assert 'fapiao_schedule_next_run_seconds{name="check"}' in metrics
    assert 'fapiao_notify_messages{state="parked"} 0.0' in metrics
