"""The 勾选 page in a real browser (headless chromium via Playwright): ticking boxes recomputes the
count, 金额 and 税额 at once (static/deduct.js under the strict CSP), and saving keeps them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.test_browser import ARGS, CHROMIUM
from tests.test_web_support import PASSWORD, Site, build_site

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
PERIOD = "2025-12"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=8)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()


def test_ticking_recomputes_the_totals(site: Site) -> None:
    from playwright.sync_api import sync_playwright

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
        pg.goto(f"{site.url}/deduct?tenant={site.tenant_a}&period={PERIOD}")
        boxes = pg.locator("#deduct-candidates input[name=pick]")
        assert boxes.count() >= 2 and pg.inner_text("#tick-count") == "0"
        want_amount = want_tax = 0
        for n in range(2):
            box = boxes.nth(n)
            box.check()
            want_amount += int(box.get_attribute("data-amount") or 0)
            want_tax += int(box.get_attribute("data-tax") or 0)
        assert pg.inner_text("#tick-count") == "2"
        assert Decimal(pg.inner_text("#tick-amount")) == Decimal(want_amount) / 100
        assert Decimal(pg.inner_text("#tick-tax")) == Decimal(want_tax) / 100
        boxes.nth(1).uncheck()
        assert pg.inner_text("#tick-count") == "1"

        pg.click("#deduct-select button[type=submit]")
        pg.wait_for_url(re.compile(r".*ok=.*"))
        assert pg.inner_text("#tick-count") == "1"  # the saved selection comes back ticked
        assert not errors, errors
        browser.close()
