"""The daily loop in a real browser (Debian's chromium, headless, Playwright): upload the platform's
export on the reconcile page, find the invoice the platform lacks on the work list, re-upload it
(after the confirmation), let one sync pass run against the sandbox platform, and see the action
resolved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fapiao.authority.export_file import write_export
from fapiao.authority.records import record_from_invoice
from fapiao.ingest import import_paths
from fapiao_dev.sandbox.run import SandboxThread
from tests.conftest import run_cli, write_invoice
from tests.test_browser import CHROMIUM, page, shot  # noqa: F401  (fixture)
from tests.test_web_support import PASSWORD, Site, build_site
from tests.test_worklist_web import ledger_invoices

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


@pytest.fixture
def loop_site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=1)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()


def test_missing_at_the_platform_re_uploaded_and_resolved_after_sync(
    loop_site: Site,
    page: object,  # noqa: F811
    tmp_path: Path,
) -> None:
    s = loop_site
    pg = page  # playwright Page
    issued = [s.factory_a.invoice(issued=True) for _ in range(3)]
    for n, inv in enumerate(issued):
        write_invoice(tmp_path / "issued" / f"{n}.json", inv)
    assert len(import_paths(s.ledger, [tmp_path / "issued"]).imported) == 3
    lacking = issued[0]  # the platform lost it
    export = tmp_path / "全量发票查询.xlsx"
    known = [i for i in ledger_invoices(s, s.tenant_a) if i.number != lacking.number]
    export.write_bytes(write_export([record_from_invoice(i) for i in known]))

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

    pg.click("nav >> text=待办")
    pg.wait_for_selector("#group-missing_at_authority")
    row = pg.locator("#group-missing_at_authority tbody tr")
    assert row.count() == 1 and lacking.number in row.inner_text()
    shot(pg, "actions")
    row.locator("input[type=checkbox]").check()
    pg.click("#bulk-reupload")
    pg.wait_for_selector("#bulk-confirm")
    assert lacking.number in pg.locator("#bulk-confirm").inner_text()
    pg.click("#bulk-confirm-button")
    pg.wait_for_selector("#actions-performed")
    assert "放回发件箱" in pg.locator("#actions-performed").inner_text()

    db = s.ledger.engine.url.render_as_string(hide_password=False)
    with SandboxThread(tmp_path / "sandbox") as sandbox:
        synced = run_cli(
            "--db", db, "sync", "--once", "--authority", sandbox.url, "--max-seconds", "20",
            env={"FAPIAO_USER": "admin_a"},
        )  # fmt: skip
    assert synced.returncode == 0, synced.stderr[-2000:]

    pg.goto(f"{s.url}/actions?state=all&category=missing_at_authority")
    resolved = pg.locator("#group-missing_at_authority tbody tr", has_text=lacking.number)
    assert resolved.get_attribute("data-state") == "resolved"
    pg.goto(f"{s.url}/actions")
    assert lacking.number not in pg.locator("main").inner_text()
    pg.goto(f"{s.url}/")
    assert pg.locator("#panel-lacking td").first.inner_text() == "0"
    shot(pg, "actions-resolved", manual=False)
