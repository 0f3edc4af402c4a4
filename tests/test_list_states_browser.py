"""入账 and 报销 in the invoice list in a real browser (headless chromium via Playwright): the visible
column text of a booked and a claimed invoice, the filter chosen from its menu and applied, the
English words under the switch, and every state on the invoice's own page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import ARGS, CHROMIUM
from tests.test_list_states_web import mark
from tests.test_web_support import PASSWORD, Site, build_site

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=10)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()


def cell(pg, invoice_id: int, state: str) -> str:  # type: ignore[no-untyped-def]
    row = pg.locator(f"#invoice-table tr:has(a[href='/invoices/{invoice_id}'])")
    return row.locator(f"td[data-state={state}]").inner_text().strip()


def test_the_list_shows_and_filters_booking_and_claims(site: Site) -> None:
    from playwright.sync_api import sync_playwright

    booked, claimed = mark(site)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = browser.new_page()
        pg.set_default_timeout(20_000)
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(f"{site.url}/login")
        pg.fill("input[name=name]", "accountant_a")
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        pg.goto(f"{site.url}/invoices?direction=received")

        heads = pg.locator("#invoice-table thead th.state-col").all_inner_texts()
        assert heads == ["勾选状态", "入账状态", "报销状态", "红冲状态"]
        assert cell(pg, booked, "booking") == "已入账 记-0042"
        assert cell(pg, claimed, "booking") == "未入账"
        assert cell(pg, claimed, "claim") == "已报销 BX-0042 王五"
        assert cell(pg, booked, "claim") == "未报销"

        # the menu's filter, applied with the form's own button
        pg.select_option("#state-booking", "booked")
        pg.click("#filters button[type=submit]")
        pg.wait_for_url("**state=booked**")
        rows = pg.locator("#invoice-table tbody tr")
        assert rows.count() == 1
        assert cell(pg, booked, "booking") == "已入账 记-0042"
        assert pg.locator("#state-booking").input_value() == "booked"

        pg.select_option("#state-booking", "")
        pg.select_option("#state-claim", "claimed")
        pg.click("#filters button[type=submit]")
        pg.wait_for_url("**state=claimed**")
        assert pg.locator("#invoice-table tbody tr").count() == 1
        assert cell(pg, claimed, "claim") == "已报销 BX-0042 王五"

        pg.goto(f"{site.url}/lang/en?next=/invoices%3Fstate%3Dbooked")
        assert "Booking" in pg.locator("#invoice-table thead").inner_text()
        assert cell(pg, booked, "booking") == "booked 记-0042"

        # the invoice's own page: every state of a received invoice
        pg.goto(f"{site.url}/lang/zh?next=/invoices/{booked}")
        assert "记-0042" in pg.inner_text("#booked-state")
        assert pg.inner_text("#claim-state").strip() == "未报销"
        assert "未勾选" in pg.inner_text("#deduct-state")
        assert pg.locator("#red-state").count() == 1
        assert not errors, errors
        browser.close()
