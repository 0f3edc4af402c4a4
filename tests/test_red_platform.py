"""红字确认单 between the ledger and the sandbox platform over real HTTP, SQLite and PostgreSQL:
sent once, only the counterparty decides, a confirmation there issues the red invoice here, a
rejection there closes the request here, a blue the platform does not know is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fapiao.codec import invoice_to_json
from fapiao.ledger import audit
from fapiao_dev.sandbox.run import SandboxThread
from tests.inbound_support import Books, make_books


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path)
    yield b
    b.ledger.engine.dispose()


def test_the_counterparty_decides_on_the_platform(books: Books, tmp_path: Path) -> None:
    first, second = books.more_issued
    with SandboxThread(tmp_path / "sb") as sb, httpx.Client(base_url=sb.url) as http:
        for n, inv in enumerate((first, second)):
            r = http.post("/api/v1/invoices", json=invoice_to_json(inv), headers={"Idempotency-Key": f"b{n}"})  # fmt: skip
            assert r.status_code in (200, 201)
        a = books.cli_json("red", "request", first.number, "--reason", "销货退回", "--all")[1]
        b = books.cli_json("red", "request", second.number, "--reason", "开票有误", "--all")[1]
        c = books.cli_json("red", "request", books.issued.number, "--reason", "开票有误", "--all")[
            1
        ]

        rc, report = books.cli_json("red", "sync", "--authority", sb.url)
        assert rc == 1  # the platform does not know books.issued
        assert {s["id"] for s in report["sent"]} == {a["id"], b["id"]}
        assert [r["id"] for r in report["refused"]] == [c["id"]]
        home = {"tax_id": books.factory.home.tax_id}
        listed = http.get("/api/v1/red/requests", params=home).json()
        pids = {i["ref"].rsplit("-", 1)[1]: i["platform_id"] for i in listed["items"]}
        assert set(pids) == {a["id"], b["id"]}

        # sending again changes nothing at the platform (the same ref)
        books.cli("red", "sync", "--authority", sb.url)
        assert len(http.get("/api/v1/red/requests", params=home).json()["items"]) == 2  # fmt: skip

        # only the counterparty decides
        seller = {"tax_id": first.seller.tax_id}
        assert http.post(f"/api/v1/red/requests/{pids[a['id']]}/confirm", json=seller).status_code == 403  # fmt: skip
        assert http.post(f"/api/v1/red/requests/{pids[a['id']]}/confirm", json={"tax_id": first.buyer.tax_id}).status_code == 200  # fmt: skip
        assert http.post(f"/api/v1/red/requests/{pids[b['id']]}/reject", json={"tax_id": second.buyer.tax_id}).status_code == 200  # fmt: skip
        assert http.post(f"/api/v1/red/requests/{pids[b['id']]}/confirm", json={"tax_id": second.buyer.tax_id}).status_code == 409  # fmt: skip

        rc, report = books.cli_json("red", "sync", "--authority", sb.url)
        assert [x["id"] for x in report["confirmed"]] == [a["id"]] and not report["confirmed"][0]["problems"]  # fmt: skip
        assert [x["id"] for x in report["rejected"]] == [b["id"]]
        shown = books.cli_json("red", "show", a["id"])[1]
        assert shown["state"] == "issued" and shown["red_invoice_id"]
        assert books.cli_json("red", "show", b["id"])[1]["state"] == "rejected"
        assert books.cli("sync", "--authority", sb.url, "--once", "--confirm-after", "0").exit_code == 0  # fmt: skip
        red = books.cli_json("show", shown["red_invoice_id"])[1]
        assert red["number"] and red["original"]["number"] == first.number
    assert audit.verify(books.ledger.engine).ok
