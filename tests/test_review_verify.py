"""'Complete from 查验' against the real sandbox server: a photo of nothing but the QR code gives
the number, date and total; the sandbox's 查验 returns the whole record, which fills the form
(source `authority`) for a person to confirm. From the command line on SQLite and PostgreSQL, and
from the review page's button."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fapiao.authority.http import HttpConnector
from fapiao.codec import invoice_to_json
from fapiao.ingest import import_paths
from fapiao.ledger import audit
from fapiao.ledger.db import open_engine
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli
from tests.review_inputs import digital, qr_only_png
from tests.test_verify import sandbox_url  # noqa: F401  (fixture)
from tests.test_web_support import Site, build_site


def test_verify_fills_what_the_qr_did_not_give(
    db_url: str,
    sandbox_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    f = InvoiceFactory(seed=5)
    env = {"FAPIAO_DB": db_url, "FAPIAO_AUTHORITY": sandbox_url}
    run_cli("tenant", "add", "--tax-id", f.home.tax_id, "--name", f.home.name, env=env, check=True)
    known, unknown = digital(f, issued=False), digital(f, issued=False)
    with HttpConnector(sandbox_url) as conn:
        conn.upload(known, "known-1")
    for name, inv in (("known", known), ("unknown", unknown)):
        qr_only_png(tmp_path / "in" / f"{name}.png", inv)
    assert run_cli("import", str(tmp_path / "in"), env=env).returncode == 1
    items = {
        Path(i["file"]).stem: i
        for i in json.loads(run_cli("review", "list", "--json", env=env).stdout)
    }
    item = items["known"]
    assert {p: r["source"] for p, r in item["fields"].items()} == {
        "kind": "qr",
        "number": "qr",
        "issue_date": "qr",
        "total": "qr",
    }

    asked = run_cli("review", "verify", item["id"], "--json", env=env)
    assert asked.returncode == 0, asked.stdout + asked.stderr
    done = json.loads(asked.stdout)
    assert done["result"] == "match"
    whole = invoice_to_json(known)
    assert done["filled"]["seller.name"] == whole["seller"]["name"]
    assert done["filled"]["buyer.tax_id"] == whole["buyer"]["tax_id"]
    assert done["filled"]["amount"] == whole["amount"] and done["filled"]["tax"] == whole["tax"]
    assert done["filled"]["items[1].name"] == whole["items"][0]["name"]
    assert "number" not in done["filled"]  # what the QR gave stays as read

    accepted = run_cli(
        "review", "accept", item["id"], "--from-verify", "--as", "zhao", "--json", env=env
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    result = json.loads(accepted.stdout)
    assert [o["status"] for o in result["outcomes"]] == ["imported"]
    sources = {c["field"]: (c["from"], c["source"]) for c in result["changes"]}
    assert sources["seller.name"] == (None, "authority")
    assert len(sources) == len(done["filled"])
    recorded = json.loads(run_cli("show", known.number, "--json", env=env).stdout)
    for key in ("amount", "tax", "total", "issue_date", "seller", "buyer", "items"):
        assert recorded[key] == whole[key], key
    assert recorded["direction"] == "received"
    shown = json.loads(run_cli("review", "show", item["id"], "--json", env=env).stdout)
    assert shown["fields"]["seller.name"]["source"] == "authority"

    # the authority does not know the other one: a clear finding, nothing changes
    other = items["unknown"]
    miss = run_cli("review", "verify", other["id"], "--json", env=env)
    assert miss.returncode == 1
    assert json.loads(miss.stdout)["findings"][0]["code"] == "verify_failed"
    refused = run_cli("review", "accept", other["id"], "--from-verify", "--json", env=env)
    assert refused.returncode == 1
    assert json.loads(run_cli("review", "show", other["id"], "--json", env=env).stdout)[
        "state"
    ] == ("open")
    engine = open_engine(db_url)
    try:
        assert audit.verify(engine).ok
    finally:
        engine.dispose()


def test_verify_without_the_qr_inputs_says_what_is_missing(
    db_url: str,
    sandbox_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    f = InvoiceFactory(seed=6)
    env = {"FAPIAO_DB": db_url, "FAPIAO_AUTHORITY": sandbox_url}
    run_cli("tenant", "add", "--tax-id", f.home.tax_id, "--name", f.home.name, env=env, check=True)
    doc = invoice_to_json(digital(f, issued=False))
    del doc["total"], doc["issue_date"]
    (tmp_path / "partial.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    run_cli("import", str(tmp_path / "partial.json"), env=env)
    (item,) = json.loads(run_cli("review", "list", "--json", env=env).stdout)
    asked = run_cli("review", "verify", item["id"], "--json", env=env)
    assert asked.returncode == 1
    (problem,) = json.loads(asked.stdout)["findings"]
    assert problem["code"] == "verify_incomplete" and "total" in problem["field"]
    assert "issue_date" in problem["field"]


@pytest.fixture
def web_site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=1)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()


def form_of(html: str) -> dict[str, str]:
    """The accept form's inputs as the browser would send them."""
    form = html.split('id="review-form"', 1)[1].split("</form>", 1)[0]
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


def test_the_pages_button_fills_the_form_from_the_authority(
    web_site: Site,
    sandbox_url: str,  # noqa: F811
    monkeypatch: Any,
) -> None:
    s = web_site
    monkeypatch.setenv("FAPIAO_AUTHORITY", sandbox_url)
    inv = digital(s.factory_a, issued=False)
    with HttpConnector(sandbox_url) as conn:
        conn.upload(inv, "web-1")
    (rejected,) = import_paths(s.ledger, [qr_only_png(s.tmp / "photo.png", inv)]).rejected
    item_id = rejected.review
    admin = s.browser()
    admin.login("admin_a")  # the photo names no company: an all-tenant user sees it
    page = admin.get(f"/review/{item_id}")
    assert 'id="review-preview"' in page.text
    sent = form_of(page.text)
    filled = admin.post(f"/review/{item_id}/verify", data=sent)
    assert filled.status_code == 200, filled.text[:500]
    assert 'id="verify-result"' in filled.text and "match" in filled.text
    form = form_of(filled.text)
    assert form["field:seller.name"] == inv.seller.name
    assert form["authority:seller.name"] == inv.seller.name  # marked as the authority's
    form["field:remarks"] = "已核对"  # the clerk adds a remark of their own
    done = admin.post(f"/review/{item_id}/accept", data=form)
    assert done.status_code == 303, done.text[:800]
    shown = admin.get(f"/api/v1/review/{item_id}").json()
    sources = {c["field"]: c["source"] for c in shown["changes"]}
    assert sources["seller.name"] == "authority" and sources["remarks"] == "user"
    assert "number" not in sources
    found = admin.get("/api/v1/invoices", params={"q": inv.number}).json()["items"]
    assert [r["total"] for r in found] == [invoice_to_json(inv)["total"]]
