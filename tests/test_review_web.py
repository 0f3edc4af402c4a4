"""The review queue over HTTP, on SQLite and PostgreSQL: pages and API in the caller's tenants,
the original's preview, accept from the form, accept and reject through the API, roles."""

from __future__ import annotations

import json
from typing import Any

from fapiao.ingest import import_paths
from fapiao.ledger import audit
from tests.review_inputs import digital, wrong_tax_pdf
from tests.test_web_support import Site, site  # noqa: F401  (fixture)


def queue_two(s: Site) -> dict[str, Any]:
    """One PDF that fails for each tenant; returns {tag: (item id, invoice, right tax)}."""
    out: dict[str, Any] = {}
    for tag, factory in (("a", s.factory_a), ("b", s.factory_b)):
        inv = digital(factory, issued=True)
        pdf, right = wrong_tax_pdf(s.tmp / f"review_{tag}" / f"{tag}.pdf", inv)
        summary = import_paths(s.ledger, [pdf])
        (rejected,) = summary.rejected
        out[tag] = (rejected.review, inv, right)
    return out


def test_pages_and_api_show_each_tenant_its_own_items(site: Site) -> None:  # noqa: F811
    queued = queue_two(site)
    a_id, a_inv, a_tax = queued["a"]
    b_id, _b_inv, b_tax = queued["b"]
    a = site.browser()
    a.login("accountant_a")
    listed = a.get("/api/v1/review").json()
    assert [i["id"] for i in listed] == [a_id]
    assert listed[0]["fields"]["number"]["value"] == a_inv.number
    assert "sum_mismatch" in {f["code"] for f in listed[0]["findings"]}
    assert a.get(f"/api/v1/review/{b_id}").status_code == 404
    assert a.get(f"/review/{b_id}").status_code == 404
    assert a.get(f"/review/{b_id}/preview").status_code == 404

    page = a.get("/review")
    assert page.status_code == 200 and f"/review/{a_id}" in page.text
    assert f"/review/{b_id}" not in page.text
    item = a.get(f"/review/{a_id}")
    assert 'id="review-preview"' in item.text
    assert 'name="field:tax"' in item.text
    tax_input = item.text.split('name="field:tax"', 1)[1].split(">", 1)[0]
    assert 'aria-invalid="true"' in tax_input  # the failing field is marked
    png = a.get(f"/review/{a_id}/preview")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")

    # a viewer may look but not accept
    viewer = site.browser()
    viewer.login("viewer_a")
    token = viewer.csrf("/review")
    assert viewer.get(f"/review/{a_id}").status_code == 200
    refused = viewer.post(f"/review/{a_id}/accept", data={"csrf": token, "field:tax": a_tax})
    assert refused.status_code == 403

    # still wrong: the form comes back with the findings, nothing recorded
    token = a.csrf(f"/review/{a_id}")
    wrong = a.post(f"/review/{a_id}/accept", data={"csrf": token, "field:tax": "1.00"})
    assert wrong.status_code == 422 and "sum_mismatch" in wrong.text
    assert a.get("/api/v1/review").json()[0]["state"] == "open"
    done = a.post(f"/review/{a_id}/accept", data={"csrf": token, "field:tax": a_tax})
    assert done.status_code == 303 and done.headers["location"].startswith("/review?done=")
    found = a.get("/api/v1/invoices", params={"q": a_inv.number}).json()["items"]
    assert [r["number"] for r in found] == [a_inv.number] and found[0]["tax"] == a_tax
    shown = a.get(f"/api/v1/review/{a_id}").json()
    assert shown["state"] == "accepted" and shown["resolved_by"] == "web:accountant_a"
    assert shown["changes"][0]["field"] == "tax" and shown["changes"][0]["to"] == a_tax

    # tenant B through the API: refused while wrong (422 with findings), then accepted
    b = site.browser()
    b.login("accountant_b")
    headers = {"X-CSRF-Token": b.csrf("/review"), "Content-Type": "application/json"}
    bad = b.post(
        f"/api/v1/review/{b_id}/accept",
        content=json.dumps({"set": {"tax": "0.01"}}),
        headers=headers,
    )
    assert bad.status_code == 422 and not bad.json()["ok"]
    assert (
        b.post(
            f"/api/v1/review/{a_id}/accept", content=json.dumps({"set": {}}), headers=headers
        ).status_code
        == 404
    )
    ok = b.post(
        f"/api/v1/review/{b_id}/accept",
        content=json.dumps({"set": {"tax": b_tax}}),
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["outcomes"][0]["status"] == "imported"
    assert audit.verify(site.ledger.engine).ok


def test_reject_through_the_page_and_the_api(site: Site) -> None:  # noqa: F811
    queued = queue_two(site)
    a_id = queued["a"][0]
    admin = site.browser()
    admin.login("admin_a")
    assert len(admin.get("/api/v1/review").json()) == 2  # every tenant
    token = admin.csrf(f"/review/{a_id}")
    empty = admin.post(f"/review/{a_id}/reject", data={"csrf": token, "reason": " "})
    assert empty.status_code == 422
    moved = admin.post(f"/review/{a_id}/reject", data={"csrf": token, "reason": "重复扫描"})
    assert moved.status_code == 303
    b_id = queued["b"][0]
    assert moved.headers["location"] == f"/review/{b_id}?done=rejected-{a_id}"  # the next item
    headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
    r = admin.post(f"/api/v1/review/{b_id}/reject", content='{"reason": "作废"}', headers=headers)
    assert r.status_code == 200 and r.json()["ok"]
    states = {
        i["id"]: (i["state"], i["reason"]) for i in admin.get("/api/v1/review?state=all").json()
    }
    assert states == {a_id: ("rejected", "重复扫描"), b_id: ("rejected", "作废")}
    assert admin.get("/api/v1/review").json() == []
    again = admin.post(f"/api/v1/review/{b_id}/reject", content='{"reason": "x"}', headers=headers)
    assert again.status_code == 422 and again.json()["findings"][0]["code"] == "review_closed"
    assert audit.verify(site.ledger.engine).ok
    admin.get("/lang/en?next=/review")
    english = admin.get("/review?state=all")
    assert "Review queue" in english.text and "rejected" in english.text
    assert "Reason to reject" not in admin.get(f"/review/{a_id}").text  # resolved: no form
