"""The review queue in a real browser (Debian's chromium, headless, Playwright): open the queue,
see the original rendered beside the form, correct the failing field, press Enter, and find the
invoice in the ledger and the next item open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fapiao.ingest import import_paths
from fapiao.ledger.queries import find_invoice
from tests.review_inputs import digital, wrong_tax_pdf
from tests.test_browser import CHROMIUM, page, shot  # noqa: F401  (fixture)
from tests.test_web_support import PASSWORD, Site, build_site

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


@pytest.fixture
def review_site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=2)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()


def test_clerk_corrects_a_failing_field_presses_enter_and_gets_the_next_item(
    review_site: Site,
    page: object,  # noqa: F811
) -> None:
    s = review_site
    pg = page  # playwright Page
    waiting = []
    for n in range(2):
        inv = digital(s.factory_a)
        pdf, right = wrong_tax_pdf(s.tmp / "scans" / f"{n}-{inv.number}.pdf", inv)
        (rejected,) = import_paths(s.ledger, [pdf]).rejected
        waiting.append((rejected.review, inv, right))
    (first_id, first, right_tax), (second_id, _second, _tax) = waiting

    pg.goto(f"{s.url}/login")
    pg.fill("input[name=name]", "accountant_a")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{s.url}/")
    pg.click("nav >> text=复核")
    pg.wait_for_selector("#review-table")
    assert pg.locator("#review-table tbody tr").count() == 2
    pg.click(f"#review-table a[href='/review/{first_id}'] >> nth=0")
    pg.wait_for_url(f"{s.url}/review/{first_id}")
    pg.wait_for_function(
        "() => { const i = document.querySelector('#review-preview');"
        " return i && i.complete && i.naturalWidth > 400; }"
    )
    tax = pg.locator("input[name='field:tax']")
    assert tax.get_attribute("aria-invalid") == "true"
    assert "failing" in (pg.locator("tr", has=tax).get_attribute("class") or "")
    shot(pg, "review", manual=True)

    # Tab walks the fields in reading order
    tax.focus()
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.dataset.path") == "total"
    tax.fill(right_tax)
    tax.press("Enter")
    pg.wait_for_url(f"{s.url}/review/{second_id}?done=accepted-{first_id}")
    assert pg.locator("#review-done").is_visible()
    assert pg.locator("#review-file").inner_text().endswith(".pdf")
    assert str(second_id) in pg.locator("h1").inner_text()

    recorded = find_invoice(s.ledger.engine, first.number)
    assert recorded is not None and recorded["tax"] == right_tax
    assert recorded["events"][0]["actor"] == "web:accountant_a"
    shot(pg, "review-next", manual=False)
