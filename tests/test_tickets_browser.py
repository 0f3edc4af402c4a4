"""A repair ticket's whole life in a real browser (Debian's chromium, headless, Playwright): a clerk
files it with an attachment and a linked invoice, the support desk triages, assigns and answers, the
clerk reads the answer and closes it; the admin posts a notice on the status page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fapiao.auth import users as auth
from fapiao.ledger import audit
from fapiao.ops import tickets
from tests.test_browser import CHROMIUM, page
from tests.test_web_support import PASSWORD, Site, build_site

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
__all__ = ["page"]


@pytest.fixture
def desk_site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=3)
    auth.add_user(
        s.ledger, name="desk", password=PASSWORD, role="support", tenants=[str(s.tenant_a)]
    )
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()
        auth.drop_caches()


def login(pg: object, url: str, name: str) -> None:
    pg.goto(f"{url}/login")  # type: ignore[attr-defined]
    pg.fill("input[name=name]", name)  # type: ignore[attr-defined]
    pg.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    pg.click("button[type=submit]")  # type: ignore[attr-defined]
    pg.wait_for_url(f"{url}/")  # type: ignore[attr-defined]


def logout(pg: object) -> None:
    pg.click("form[action='/logout'] button")  # type: ignore[attr-defined]
    pg.wait_for_url("**/login")  # type: ignore[attr-defined]


def test_ticket_life_through_the_web(desk_site: Site, page: object, tmp_path: Path) -> None:
    s, pg = desk_site, page
    shot = tmp_path / "screen.txt"
    shot.write_text("解析进程日志：timeout", encoding="utf-8")

    login(pg, s.url, "accountant_a")
    pg.click("nav a[href='/tickets']")  # type: ignore[attr-defined]
    pg.click("#new-ticket")  # type: ignore[attr-defined]
    pg.select_option("select[name=category]", "import")  # type: ignore[attr-defined]
    pg.fill("input[name=place]", "财务部 3 楼")  # type: ignore[attr-defined]
    pg.fill("textarea[name=symptoms]", "上传 OFD 后页面一直转圈")  # type: ignore[attr-defined]
    pg.fill("input[name=invoices]", s.a_ids[0])  # type: ignore[attr-defined]
    pg.set_input_files("input[name=files]", str(shot))  # type: ignore[attr-defined]
    pg.click("#ticket-form button[type=submit]")  # type: ignore[attr-defined]
    pg.wait_for_url("**/tickets/*")  # type: ignore[attr-defined]
    tid = int(pg.url.rsplit("/", 1)[-1])  # type: ignore[attr-defined]
    assert pg.inner_text("#ticket-state") == "open"  # type: ignore[attr-defined]
    assert "screen.txt" in pg.inner_text("a.attachment")  # type: ignore[attr-defined]
    assert pg.locator("#triage-form").count() == 0  # type: ignore[attr-defined]  # a clerk cannot triage
    logout(pg)

    login(pg, s.url, "desk")
    pg.goto(f"{s.url}/tickets")  # type: ignore[attr-defined]
    pg.click(f"tr[data-ticket='{tid}'] a")  # type: ignore[attr-defined]
    pg.select_option("#triage-form select[name=priority]", "high")  # type: ignore[attr-defined]
    pg.click("#triage-form button")  # type: ignore[attr-defined]
    pg.wait_for_selector("#ticket-state[data-state=triaged]")  # type: ignore[attr-defined]
    pg.select_option("#assign-form select[name=assignee]", "desk")  # type: ignore[attr-defined]
    pg.click("#assign-form button")  # type: ignore[attr-defined]
    pg.wait_for_selector("#ticket-state[data-state=assigned]")  # type: ignore[attr-defined]
    pg.fill("#answer-form textarea", "已重启解析进程，请重试")  # type: ignore[attr-defined]
    pg.click("#answer-form button")  # type: ignore[attr-defined]
    pg.wait_for_selector("#ticket-state[data-state=answered]")  # type: ignore[attr-defined]
    logout(pg)

    login(pg, s.url, "accountant_a")
    pg.goto(f"{s.url}/tickets/{tid}")  # type: ignore[attr-defined]
    assert "已重启解析进程" in pg.inner_text("#steps")  # type: ignore[attr-defined]
    pg.fill("#close-form input[name=text]", "好了")  # type: ignore[attr-defined]
    pg.click("#close-form button")  # type: ignore[attr-defined]
    pg.wait_for_selector("#ticket-state[data-state=closed]")  # type: ignore[attr-defined]
    steps = pg.locator("#steps li").evaluate_all("els => els.map(e => e.dataset.action)")  # type: ignore[attr-defined]
    assert steps == ["filed", "triaged", "assigned", "answered", "closed"]
    logout(pg)

    login(pg, s.url, "admin_a")
    pg.goto(f"{s.url}/status")  # type: ignore[attr-defined]
    assert pg.locator("tr[data-component=database]").count() == 1  # type: ignore[attr-defined]
    pg.fill("#notice-form input[name=title]", "电子税务局系统升级")  # type: ignore[attr-defined]
    pg.fill("#notice-form input[name=scope]", "北京 · 开票")  # type: ignore[attr-defined]
    pg.click("#notice-form button")  # type: ignore[attr-defined]
    pg.wait_for_selector(".notice-current")  # type: ignore[attr-defined]
    assert "电子税务局系统升级" in pg.inner_text("#notices")  # type: ignore[attr-defined]

    got = tickets.get(s.ledger.engine, tid)
    assert got is not None and got["priority"] == "high" and got["invoice_ids"] == [int(s.a_ids[0])]
    assert [st["actor"] for st in got["steps"]] == [
        "web:accountant_a",
        "web:desk",
        "web:desk",
        "web:desk",
        "web:accountant_a",
    ]
    assert audit.verify(s.ledger.engine).ok
