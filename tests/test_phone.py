"""At phone width (375 px, in headless chromium) the dashboard, the list and an invoice fit the
screen: the page never scrolls sideways, and the invoice keeps its own layout (parties, items,
价税合计) readable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import ARGS, CHROMIUM, browser_site
from tests.test_web_support import PASSWORD, Site

__all__ = ["browser_site"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


# what sticks out past the screen's right edge, to name it when the check fails
WIDE = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376)
  .slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + e.textContent.slice(0, 40))"""


@pytest.fixture
def phone() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        yield pg
        context.close()
        browser.close()


def test_phone_width_never_scrolls_sideways(browser_site: Site, phone: object) -> None:
    pg = phone  # a Playwright page
    pg.goto(browser_site.url + "/login")  # type: ignore[attr-defined]
    pg.fill("input[name=name]", "accountant_a")  # type: ignore[attr-defined]
    pg.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    pg.click("button[type=submit]")  # type: ignore[attr-defined]
    pg.wait_for_url(browser_site.url + "/")  # type: ignore[attr-defined]
    first = browser_site.a_ids[0]
    for path in ("/", "/invoices", f"/invoices/{first}"):
        pg.goto(browser_site.url + path)  # type: ignore[attr-defined]
        width = pg.evaluate("document.scrollingElement.scrollWidth")  # type: ignore[attr-defined]
        wide = pg.evaluate(WIDE)  # type: ignore[attr-defined]
        assert width <= 375, (path, width, wide)
    # the invoice's parties stack on a phone; each item line reads as label: value
    buyer = pg.locator("#fp-buyer").bounding_box()  # type: ignore[attr-defined]
    seller = pg.locator("#fp-seller").bounding_box()  # type: ignore[attr-defined]
    assert seller["y"] >= buyer["y"] + buyer["height"] - 1
    assert pg.locator("#fp-total").is_visible()  # type: ignore[attr-defined]
    cell = pg.locator("#items tbody td").first  # type: ignore[attr-defined]
    assert cell.bounding_box()["x"] + cell.bounding_box()["width"] <= 375
    # at desktop width buyer and seller sit side by side, as on the printed invoice
    pg.set_viewport_size({"width": 1280, "height": 860})  # type: ignore[attr-defined]
    buyer = pg.locator("#fp-buyer").bounding_box()  # type: ignore[attr-defined]
    seller = pg.locator("#fp-seller").bounding_box()  # type: ignore[attr-defined]
    assert abs(seller["y"] - buyer["y"]) < 2 and seller["x"] > buyer["x"] + buyer["width"] - 2
