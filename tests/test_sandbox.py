"""The sandbox platform over real HTTP: numbering, idempotency, listing, 查验, export, faults."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from fapiao.codec import invoice_to_json
from fapiao.model import Kind
from fapiao_dev.sandbox.faults import FaultPlan, Faults, PlanError
from fapiao_dev.sandbox.run import SandboxThread
from fapiao_dev.synth import InvoiceFactory

ALL = {"from": "1994-01-01", "to": "2999-12-31"}


@pytest.fixture
def sandbox(tmp_path):
    with SandboxThread(tmp_path / "sb") as sb, httpx.Client(base_url=sb.url + "/api/v1") as c:
        c.sandbox = sb  # type: ignore[attr-defined]
        yield c


@pytest.fixture
def f() -> InvoiceFactory:
    return InvoiceFactory(seed=5)


def draft_of(f: InvoiceFactory) -> dict:
    doc = invoice_to_json(f.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL))
    doc["number"] = ""
    return doc


def test_issue_numbers_are_20_digits_and_never_repeat(sandbox, f):
    numbers = []
    for n in range(30):
        r = sandbox.post("/invoices/issue", json=draft_of(f), headers={"Idempotency-Key": f"k{n}"})
        assert r.status_code == 201, r.text
        numbers.append(r.json()["number"])
        assert r.json()["invoice"]["number"] == numbers[-1]
    assert all(len(n) == 20 and n.isdigit() for n in numbers)
    assert len(set(numbers)) == 30


def test_idempotency_replays_the_first_answer_and_refuses_another_body(sandbox, f):
    draft = draft_of(f)
    first = sandbox.post("/invoices/issue", json=draft, headers={"Idempotency-Key": "same"})
    again = sandbox.post("/invoices/issue", json=draft, headers={"Idempotency-Key": "same"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = sandbox.post(
        "/invoices/issue", json={**draft, "remarks": "changed"}, headers={"Idempotency-Key": "same"}
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert sandbox.get("/admin/stats").json()["invoices"] == 1


def test_upload_exists_conflict_and_invalid(sandbox, f):
    doc = invoice_to_json(f.invoice())
    assert sandbox.post("/invoices", json=doc, headers={"Idempotency-Key": "a"}).status_code == 201
    again = sandbox.post("/invoices", json=doc, headers={"Idempotency-Key": "b"})
    assert again.status_code == 200 and again.json()["outcome"] == "exists"
    changed = {**doc, "total": "1.00"}
    bad = sandbox.post("/invoices", json=changed, headers={"Idempotency-Key": "c"})
    assert bad.status_code == 422 and bad.json()["error"]["findings"]
    other = invoice_to_json(
        dataclasses.replace(f.invoice(), number=doc["number"], code=doc["code"])
    )
    assert (
        sandbox.post("/invoices", json=other, headers={"Idempotency-Key": "d"}).status_code == 409
    )
    assert sandbox.post("/invoices", json=doc).status_code == 422  # no key
    assert (
        sandbox.post("/invoices", content=b"{nope", headers={"Idempotency-Key": "e"}).status_code
        == 422
    )


def test_list_pages_with_cursor_get_and_404(sandbox, f):
    docs = [invoice_to_json(f.invoice()) for _ in range(25)]
    body = {
        "items": [
            {"op": "upload", "idempotency_key": f"u{n}", "invoice": d} for n, d in enumerate(docs)
        ]
    }
    results = sandbox.post("/invoices/batch", json=body).json()["results"]
    assert [r["status"] for r in results] == [201] * 25
    seen, cursor = [], None
    while True:
        params = {
            "tax_id": f.home.tax_id,
            **ALL,
            "limit": 10,
            **({"cursor": cursor} if cursor else {}),
        }
        page = sandbox.get("/invoices", params=params).json()
        assert len(page["items"]) <= 10
        seen.extend(i["number"] for i in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(d["number"] for d in docs)
    key = f"{docs[0]['code']}-{docs[0]['number']}" if docs[0]["code"] else docs[0]["number"]
    assert sandbox.get(f"/invoices/{key}").json()["total"] == docs[0]["total"]
    assert sandbox.get("/invoices/00000000000000000000").status_code == 404
    found = sandbox.post("/invoices/lookup", json={"keys": [key, "nope"]}).json()["items"]
    assert [i["number"] for i in found] == [docs[0]["number"]]


def test_verify_needs_the_right_inputs(sandbox, f):
    inv = f.invoice(kind=Kind.DIGITAL_NORMAL)
    sandbox.post("/invoices", json=invoice_to_json(inv), headers={"Idempotency-Key": "v"})
    base = {"number": inv.number, "issue_date": inv.issue_date.isoformat()}
    total = f"{inv.total / 100:.2f}"
    assert sandbox.post("/verify", json={**base, "total": total}).json()["result"] == "match"
    wrong = sandbox.post("/verify", json={**base, "total": "1.00"}).json()
    assert wrong["result"] == "mismatch" and wrong["fields"] == ["total"]
    gone = sandbox.post("/verify", json={**base, "number": "9" * 20, "total": total}).json()
    assert gone["result"] == "not_found"
    assert sandbox.post("/verify", json={"number": inv.number}).status_code == 422


def test_export_has_the_platform_columns(sandbox, f):
    export_file = pytest.importorskip("fapiao.authority.export_file")
    docs = [invoice_to_json(f.invoice()) for _ in range(5)]
    for n, d in enumerate(docs):
        sandbox.post("/invoices", json=d, headers={"Idempotency-Key": f"x{n}"})
    for fmt in ("csv", "xlsx"):
        r = sandbox.get("/export", params={"tax_id": f.home.tax_id, **ALL, "format": fmt})
        assert r.status_code == 200
        records, problems = export_file.read_export(r.content, f"export.{fmt}")
        assert not [p for p in problems if p.is_error]
        assert sorted(r.number for r in records) == sorted(d["number"] for d in docs)
    assert (
        sandbox.get("/export", params={"tax_id": f.home.tax_id, "format": "pdf"}).status_code == 422
    )


def test_faults_change_at_run_time(sandbox, f):
    assert sandbox.get("/faults").json()["in_outage"] is False
    plan = sandbox.put("/faults", json={"outages": [{"start_s": 0, "end_s": 60}]}).json()
    assert plan["in_outage"] is True
    assert sandbox.get("/health").status_code == 503
    assert sandbox.put("/faults", json={"error_rate": 2}).status_code == 422
    assert sandbox.put("/faults", json={"bogus": 1}).status_code == 422
    sandbox.put("/faults", json={"error_rate": 1.0})
    assert sandbox.get("/health").status_code == 500
    sandbox.put("/faults", json={"rate_limit_per_s": 2})
    codes = [sandbox.get("/health").status_code for _ in range(5)]
    assert 429 in codes and codes[0] == 200
    sandbox.put("/faults", json={})
    assert sandbox.get("/health").status_code == 200


def test_drop_after_ack_and_delayed_visibility(sandbox, f):
    sandbox.put("/faults", json={"drop_after_ack_rate": 1.0})
    lost = invoice_to_json(f.invoice())
    r = sandbox.post("/invoices", json=lost, headers={"Idempotency-Key": "lost"})
    assert r.status_code == 201  # acknowledged …
    assert sandbox.get(f"/invoices/{lost['number']}").status_code == 404  # … and not kept
    sandbox.put("/faults", json={"visibility_delay_s": 0.6})
    late = invoice_to_json(f.invoice(kind=Kind.DIGITAL_NORMAL))
    sandbox.post("/invoices", json=late, headers={"Idempotency-Key": "late"})
    assert sandbox.get(f"/invoices/{late['number']}").status_code == 404
    import time

    time.sleep(0.7)
    assert sandbox.get(f"/invoices/{late['number']}").status_code == 200


def test_platform_side_red_flush(sandbox, f):
    doc = invoice_to_json(f.invoice(kind=Kind.DIGITAL_NORMAL))
    sandbox.post("/invoices", json=doc, headers={"Idempotency-Key": "r"})
    r = sandbox.post(f"/admin/invoices/{doc['number']}/status", json={"status": "red"})
    assert r.status_code == 200
    got = sandbox.get(f"/invoices/{doc['number']}").json()
    assert got["status"] == "red" and got["platform_status"] == "已红冲-全额"
    assert sandbox.post("/admin/invoices/123/status", json={"status": "void"}).status_code == 404
    assert (
        sandbox.post(f"/admin/invoices/{doc['number']}/status", json={"status": "x"}).status_code
        == 422
    )


def test_faults_are_deterministic_under_a_seed():
    plan = FaultPlan.from_json(
        {"seed": 3, "error_rate": 0.3, "timeout_rate": 0.2, "drop_after_ack_rate": 0.1}
    )
    runs = []
    for _ in range(2):
        faults = Faults(plan)
        runs.append([(faults.decide(), faults.drop()) for _ in range(200)])
    assert runs[0] == runs[1]
    assert any(d.error for d, _ in runs[0]) and any(d.timeout for d, _ in runs[0])
    with pytest.raises(PlanError):
        FaultPlan.from_json({"outages": [{"start_s": 5, "end_s": 1}]})


def test_outage_window_is_relative_to_when_the_plan_was_set():
    now = [100.0]
    faults = Faults(
        FaultPlan.from_json({"outages": [{"start_s": 2, "end_s": 4}]}), clock=lambda: now[0]
    )
    assert not faults.decide().outage
    now[0] = 103.0
    assert faults.decide().outage
    now[0] = 104.5
    assert not faults.decide().outage


def test_issue_refuses_numbered_or_older_kinds(sandbox, f):
    numbered = invoice_to_json(f.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL))
    r = sandbox.post("/invoices/issue", json=numbered, headers={"Idempotency-Key": "n"})
    assert r.status_code == 422
    older = invoice_to_json(f.invoice(issued=True, kind=Kind.VAT_ELECTRONIC_NORMAL))
    older["number"], older["code"] = "", ""
    r = sandbox.post("/invoices/issue", json=older, headers={"Idempotency-Key": "o"})
    assert r.status_code == 422
    assert sandbox.get("/admin/stats").json()["numbers_assigned"] == 0
