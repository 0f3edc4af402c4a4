"""The sandbox platform's 勾选 side over real HTTP: select, refusals (not the buyer, red, another
period, confirmed period), 统计确认, its list (JSON and the CSV export), and `deduct compare`
naming where the ledger's 勾选 and the platform's differ."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from fapiao.codec import invoice_to_json
from fapiao_dev.sandbox.run import SandboxThread
from tests.inbound_support import Books, make_books


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path)
    yield b
    b.ledger.engine.dispose()


def test_platform_selection_and_compare(books: Books, tmp_path: Path) -> None:
    r0, r1, r2, _ = books.received
    tax_id = books.factory.home.tax_id
    with SandboxThread(tmp_path / "sb") as sb, httpx.Client(base_url=sb.url) as http:
        for n, inv in enumerate([*books.received, books.issued, books.red]):
            r = http.post("/api/v1/invoices", json=invoice_to_json(inv), headers={"Idempotency-Key": f"k{n}"})  # fmt: skip
            assert r.status_code in (200, 201), r.text
        sel = {"tax_id": tax_id, "period": "2024-11"}
        r = http.post("/api/v1/deduct/select", json={**sel, "keys": [r0.number, r1.number]})
        assert r.status_code == 200
        r = http.post("/api/v1/deduct/select", json={**sel, "keys": [books.issued.number, books.red.number, "9" * 20]})  # fmt: skip
        assert r.status_code == 422
        assert {x["code"] for x in r.json()["refused"]} == {"not_buyer", "not_normal", "not_found"}
        r = http.post("/api/v1/deduct/select", json={**sel, "period": "2024-12", "keys": [r1.number]})  # fmt: skip
        assert r.json()["refused"] == [{"key": r1.number, "code": "other_period"}]

        # the ledger selected r0 and r2: compare names both sides' differences
        t = str(books.tenant)
        assert books.cli("deduct", "select", r0.number, r2.number, "--tenant", t, "--period", "2024-11").exit_code == 0  # fmt: skip
        rc, diff = books.cli_json("deduct", "compare", "--tenant", t, "--period", "2024-11", "--authority", sb.url)  # fmt: skip
        assert rc == 1 and not diff["agree"]
        assert diff["only_in_ledger"] == [r2.number] and diff["only_at_authority"] == [r1.number]

        # brought in line, both confirmed: they agree; the platform's period is then locked
        assert http.post("/api/v1/deduct/unselect", json={"tax_id": tax_id, "keys": [r1.number]}).status_code == 200  # fmt: skip
        http.post("/api/v1/deduct/select", json={**sel, "keys": [r2.number]})
        assert http.post("/api/v1/deduct/confirm", json=sel).status_code == 200
        assert http.post("/api/v1/deduct/confirm", json=sel).status_code == 409
        assert http.post("/api/v1/deduct/unselect", json={"tax_id": tax_id, "keys": [r0.number]}).status_code == 422  # fmt: skip
        assert books.cli("deduct", "confirm", "--tenant", t, "--period", "2024-11").exit_code == 0
        rc, diff = books.cli_json("deduct", "compare", "--tenant", t, "--period", "2024-11", "--authority", sb.url)  # fmt: skip
        assert (
            rc == 0 and diff["agree"] and diff["confirmed"] == {"ledger": True, "authority": True}
        )

        exported = http.get("/api/v1/deduct", params={**sel, "format": "csv"})
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert {r["数电发票号码"] for r in rows} == {r0.number, r2.number}
        assert {r["勾选状态"] for r in rows} == {"已确认"} and rows[0]["用途"] == "抵扣"
