"""A finance clerk's day in a real browser (Debian's chromium, headless, driven by Playwright):
log in, upload a folder of invoices, find one by search, open it and see its original, switch to
English, use it at phone width. Screenshots go to tests/artifacts/ and the manual's to docs/img/."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_invoice
from tests.export_support import HOME, HOME_NAME, XLSX, own_invoice, write_json
from tests.test_web_support import PASSWORD, Site, build_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS_IMG = Path(__file__).parent.parent / "docs" / "img"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium not installed (make system)"
)


@pytest.fixture
def browser_site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=30)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()


@pytest.fixture
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        yield pg
        context.close()
        browser.close()


def shot(page: object, name: str, *, manual: bool = True, full: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)  # type: ignore[attr-defined]
    if manual and os.environ.get("FAPIAO_UPDATE_MANUAL") == "1":  # `make manual-images`
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS_IMG / f"{name}.png")


def test_clerk_uploads_a_folder_finds_an_invoice_and_sees_its_original(
    browser_site: Site, page: object, tmp_path: Path
) -> None:
    s = browser_site
    pg = page  # playwright Page
    folder = tmp_path / "scans-2025-11"
    fresh = [s.factory_a.invoice() for _ in range(5)]
    for n, inv in enumerate(fresh):
        write_invoice(folder / f"{n:02d}-{inv.number}.json", inv)
    (folder / "会议纪要.txt").write_text("not an invoice", encoding="utf-8")

    pg.goto(f"{s.url}/")
    assert "/login" in pg.url
    shot(pg, "login")
    pg.fill("input[name=name]", "accountant_a")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{s.url}/")
    assert pg.locator("h1").inner_text() == "概览"
    shot(pg, "dashboard")

    pg.click("nav >> text=上传")
    pg.set_input_files("#folder", str(folder))
    pg.wait_for_selector('#upload-summary[data-done="1"]')
    results = pg.locator("#upload-results tbody tr")
    assert results.count() == 6
    assert pg.locator(".result-imported").count() == 5
    assert pg.locator(".result-rejected").count() == 1
    shot(pg, "upload")

    target = fresh[2]
    pg.click("nav >> text=发票")
    pg.fill("#search", target.number[-10:])
    pg.press("#search", "Enter")
    pg.wait_for_selector(f"text={target.number}")
    assert pg.locator("#invoice-table tbody tr").count() == 1
    shot(pg, "search")
    pg.click(f"text={target.number}")
    pg.wait_for_selector("#original")
    assert target.seller.name in pg.locator("#fields").inner_text()
    original = pg.locator("#original-text").inner_text()
    assert target.number in original and '"total"' in original
    assert pg.locator("#events li").count() >= 1
    shot(pg, "invoice")

    with pg.expect_download() as dl:
        pg.click("#download-original")
    assert target.number in Path(dl.value.path()).read_text(encoding="utf-8")

    pg.click("#lang-switch")
    pg.wait_for_selector("text=Invoice")
    assert "Original file" in pg.content()
    pg.goto(f"{s.url}/invoices?q={target.seller.name[-6:]}")
    shot(pg, "invoices-en")
    pg.click("#lang-switch")

    pg.set_viewport_size({"width": 390, "height": 844})
    pg.goto(f"{s.url}/invoices")
    assert pg.locator(".menu-button").is_visible()
    card = pg.locator("#invoice-table tbody tr").first  # a row is a card: each value named
    number, total = card.locator("td").nth(0), card.locator("td.num").first
    assert number.get_attribute("data-label") == "号码" and total.get_attribute("data-label")
    for cell in (number.locator("a"), total):  # one line (about 24 px), never broken over two
        box = cell.bounding_box()
        assert box is not None and box["height"] < 40, cell
    assert card.locator("td").nth(4).is_visible()  # the buyer too, with room to show it
    shot(pg, "phone-list")
    pg.click(".menu-button")
    assert pg.locator("nav >> text=上传").is_visible()

    pg.set_viewport_size({"width": 1280, "height": 860})
    pg.goto(f"{s.url}/invoices/{s.a_ids[0]}/print")
    shot(pg, "print", manual=False)
    pg.goto(f"{s.url}/help")
    shot(pg, "help")


def test_browser_shows_no_page_without_login_and_admin_pages(
    browser_site: Site, page: object
) -> None:
    s = browser_site
    pg = page
    pg.goto(f"{s.url}/invoices/{s.a_ids[0]}")
    assert "/login" in pg.url
    pg.fill("input[name=name]", "admin_a")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{s.url}/invoices/{s.a_ids[0]}")  # back where the user was going
    pg.goto(f"{s.url}/users")
    assert pg.locator("#users tbody tr").count() == 8
    shot(pg, "users")
    pg.goto(f"{s.url}/audit?verify=1")
    assert "✓" in pg.locator("#verify-result").inner_text()
    shot(pg, "audit")


def test_clerk_reconciles_against_an_export_and_downloads_the_report(
    browser_site: Site, page: object, tmp_path: Path
) -> None:
    from fapiao.authority.export_file import write_export
    from fapiao.codec import invoice_from_json
    from fapiao.ledger.listing import Listing
    from fapiao.ledger.queries import list_invoices
    from fapiao.model import AuthorityRecord

    s = browser_site
    pg = page
    records = []
    for doc in list_invoices(s.ledger.engine, Listing(tenant=str(s.tenant_a))):
        inv, _ = invoice_from_json(doc)
        assert inv is not None
        records.append(
            AuthorityRecord(
                code=inv.code,
                number=inv.number,
                kind=inv.kind,
                issue_date=inv.issue_date,
                seller=inv.seller,
                buyer=inv.buyer,
                amount=inv.amount,
                tax=inv.tax,
                total=inv.total,
            )
        )
    lost = records.pop(3)  # the platform lost one invoice
    export = tmp_path / "全量发票查询.xlsx"
    export.write_bytes(write_export(records))

    pg.goto(f"{s.url}/login")
    pg.fill("input[name=name]", "accountant_a")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{s.url}/")
    pg.click("nav >> text=对账")
    pg.set_input_files("input[name=export]", str(export))
    pg.click("#reconcile-form button[type=submit]")
    pg.wait_for_selector("#reconcile-result")
    assert pg.locator("#count-missing_at_authority").inner_text() == "1"
    assert pg.locator("#matched").inner_text() == str(len(records))
    assert lost.number in pg.locator("#reconcile-result").inner_text()
    shot(pg, "reconcile")
    with pg.expect_download() as dl:
        pg.click("#report-xlsx")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()), read_only=True)
    cells = [
        str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row
    ]
    assert any(lost.number in c for c in cells)
    book.close()


def test_upload_page_says_the_own_file_completed_the_platform_s_record(
    browser_site: Site, page: object, tmp_path: Path
) -> None:
    """The platform's 全量发票查询 export, then one invoice's own file: the page reports the file as
    已补全 (completed), not as a conflict, and the invoice then shows its line item."""
    s = browser_site
    pg = page
    s.ledger.add_tenant(tax_id=HOME, name=HOME_NAME)
    doc = own_invoice()
    own = write_json(tmp_path / "own" / f"{doc['number']}.json", doc)

    pg.goto(f"{s.url}/login")
    pg.fill("input[name=name]", "admin_a")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{s.url}/")
    pg.goto(f"{s.url}/upload")
    pg.set_input_files("#files", str(XLSX))
    pg.wait_for_selector('#upload-summary[data-done="1"]')
    assert pg.locator(".result-imported").count() == 12
    pg.goto(f"{s.url}/upload")
    pg.set_input_files("#files", str(own))
    pg.wait_for_selector('#upload-summary[data-done="1"]')
    assert pg.locator(".result-conflict").count() == 0
    done = pg.locator(".result-completed")
    assert done.count() == 1 and done.inner_text().startswith("已补全 " + doc["number"])
    assert "已补全 1" in pg.locator("#upload-summary").inner_text()
    done.locator("a").click()
    pg.wait_for_selector("#original")
    assert "软件服务" in pg.content()
