"""Reconcile compares 勾选 too, from the outside: the ledger selects, the sandbox platform selects
otherwise, its 全量发票查询 export carries 勾选状态 / 用途 / 税款所属期, and `fapiao reconcile` names
exactly the received invoices whose selection differs (selected on one side only, another purpose,
another period), files each as an action with its remedy, and puts them in both reports. The
platform's API list states the same 勾选, so a reconcile over the connector finds the same. An
export without those columns finds no 勾选 difference and leaves those actions as they are. On
SQLite and PostgreSQL, against the real sandbox over HTTP."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from fapiao.auth import users as auth
from fapiao.authority.export_file import read_export, write_export
from fapiao.authority.records import record_from_invoice
from fapiao.codec import invoice_to_json
from fapiao.deduct.service import select_invoices
from fapiao.ingest import import_paths
from fapiao_dev.sandbox.run import SandboxThread
from tests.conftest import write_invoice
from tests.inbound_support import Books, make_books
from tests.test_web_support import Site, sqlite_site
from tests.test_worklist_web import upload

__all__ = ["sqlite_site"]  # fixture

PERIOD = "2024-11"
NOV = {"from": "2024-11-01", "to": "2024-11-30"}


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path, received=6)
    yield b
    b.ledger.engine.dispose()


def at_platform(http: httpx.Client, books: Books) -> None:
    invoices = [*books.received, books.issued, *books.more_issued, books.red]
    for n, inv in enumerate(invoices):
        r = http.post("/api/v1/invoices", json=invoice_to_json(inv), headers={"Idempotency-Key": f"k{n}"})  # fmt: skip
        assert r.status_code in (200, 201), r.text


def platform_select(http: httpx.Client, tax_id: str, period: str, *keys: str, **kw: str) -> None:
    body = {"tax_id": tax_id, "period": period, "keys": list(keys), **kw}
    r = http.post("/api/v1/deduct/select", json=body)
    assert r.status_code == 200, r.text


def reconcile(books: Books, export: Path, *more: str) -> tuple[int, dict]:
    return books.cli_json(
        "reconcile", "--authority", str(export), "--tenant", str(books.tenant),
        "--period", PERIOD, *more,
    )  # fmt: skip


def deduction_actions(books: Books, state: str = "active") -> dict[str, dict]:
    rc, rows = books.cli_json("actions", "list", "--tenant", str(books.tenant), "--state", state)
    assert rc == 0
    return {a["number"]: a for a in rows if a["category"] == "deduction_mismatch"}


def test_reconcile_names_each_selection_that_differs(books: Books, tmp_path: Path) -> None:
    r0, r1, r2, _r3, r4, r5 = books.received  # r3 is reversed in full by books.red
    t, tax_id = str(books.tenant), books.factory.home.tax_id
    select = ("deduct", "select", "--tenant", t, "--period", PERIOD)
    assert books.cli(*select, r0.number, r1.number, r5.number).exit_code == 0
    assert books.cli(*select, r2.number, "--purpose", "no_deduct", "--reason", "集体福利").exit_code == 0  # fmt: skip

    with SandboxThread(tmp_path / "sb") as sb, httpx.Client(base_url=sb.url) as http:
        at_platform(http, books)
        platform_select(http, tax_id, PERIOD, r0.number, r2.number, r4.number)  # r2: 抵扣
        platform_select(http, tax_id, "2024-12", r5.number)
        xlsx = http.get("/api/v1/export", params={"tax_id": tax_id, **NOV, "format": "xlsx"})
        csv = http.get("/api/v1/export", params={"tax_id": tax_id, **NOV, "format": "csv"})
    assert xlsx.status_code == csv.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    head = [c.value for c in sheet[1]]
    assert head[-3:] == ["勾选状态", "用途", "税款所属期"]
    row_of = {(r[3] or r[2]): r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert row_of[r5.number][-3:] == ("已勾选", "抵扣", "202412")
    assert row_of[r1.number][-3:] == ("未勾选", None, None)
    assert row_of[books.issued.number][-3:] == (None, None, None)  # issued: no 勾选
    export = tmp_path / "export.xlsx"
    export.write_bytes(xlsx.content)

    rc, out = reconcile(books, export)
    assert rc == 1
    for cat in ("missing_at_authority", "missing_in_ledger", "mismatched", "status_mismatch",
                "duplicates_at_authority"):  # fmt: skip
        assert out[cat] == [], (cat, out[cat])
    differs = {d["number"]: d["fields"] for d in out["deduction_mismatch"]}
    assert differs == {
        r1.number: {
            "selection": {"ledger": "selected", "authority": "unselected"},
            "purpose": {"ledger": "deduct", "authority": ""},
            "period": {"ledger": PERIOD, "authority": ""},
        },
        r2.number: {"purpose": {"ledger": "no_deduct", "authority": "deduct"}},
        r4.number: {
            "selection": {"ledger": "unselected", "authority": "selected"},
            "purpose": {"ledger": "", "authority": "deduct"},
            "period": {"ledger": "", "authority": PERIOD},
        },
        r5.number: {"period": {"ledger": PERIOD, "authority": "2024-12"}},
    }
    # the csv export says the same
    (tmp_path / "export.csv").write_bytes(csv.content)
    rc, again = reconcile(books, tmp_path / "export.csv")
    assert again["deduction_mismatch"] == out["deduction_mismatch"]

    # one action each, on the work list, its remedy fitting the difference
    acts = deduction_actions(books)
    assert set(acts) == set(differs)
    assert acts[r1.number]["remedy"] == "select_at_authority"
    assert acts[r1.number]["remedy_zh"] == "在平台上勾选"
    assert {acts[n]["remedy"] for n in (r2.number, r4.number, r5.number)} == {"correct_ledger"}
    assert acts[r5.number]["detail"]["fields"] == differs[r5.number]
    rc, done = books.cli_json("actions", "do", acts[r5.number]["id"])
    assert rc == 0 and done["state"] == "in_progress"
    assert f"fapiao deduct select {r5.number} --tenant {t} --period 2024-12" in done["message"]
    assert done["message"].startswith("请在账本中按平台更正")

    # both reports carry the category, in Chinese
    for suffix in ("xlsx", "html"):
        assert reconcile(books, export, "--out", str(tmp_path / f"r.{suffix}"))[0] == 1
    book = load_workbook(tmp_path / "r.xlsx")
    rows = list(book["勾选不一致"].iter_rows(min_row=2, values_only=True))
    assert {r[1] for r in rows} == set(differs)
    r2_row = next(r for r in rows if r[1] == r2.number)
    assert r2_row[7:10] == ("用途", "不抵扣", "抵扣")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="deduction_mismatch"' in html and "勾选不一致" in html and r4.number in html

    # an export without the 勾选 columns: no 勾选 findings, the rest exactly as before, and the
    # actions stay open (the list said nothing about them)
    records, problems = read_export(xlsx.content)
    assert problems == [] and any(r.deduct_state for r in records)
    plain = tmp_path / "plain.xlsx"
    plain.write_bytes(write_export(records))
    head = [c.value for c in load_workbook(plain).worksheets[0][1]]
    assert "勾选状态" not in head
    rc, bare = reconcile(books, plain)
    assert bare["deduction_mismatch"] == []
    assert {k: v for k, v in bare.items() if k != "deduction_mismatch"} == {
        k: v for k, v in out.items() if k != "deduction_mismatch"
    }
    assert rc == 0  # nothing else differs
    assert set(deduction_actions(books)) == set(differs)

    # brought in line on the ledger's side: their actions close, the others stay
    assert books.cli("deduct", "unselect", r5.number, "--tenant", t).exit_code == 0
    assert books.cli("deduct", "select", r5.number, "--tenant", t, "--period", "2024-12").exit_code == 0  # fmt: skip
    assert books.cli(*select, r4.number).exit_code == 0
    rc, after = reconcile(books, export)
    assert {d["number"] for d in after["deduction_mismatch"]} == {r1.number, r2.number}
    assert set(deduction_actions(books)) == {r1.number, r2.number}
    closed = deduction_actions(books, "resolved")
    assert set(closed) == {r4.number, r5.number}
    assert {a["resolution"] for a in closed.values()} == {"vanished"}


def test_the_platforms_api_list_states_selections_too(books: Books, tmp_path: Path) -> None:
    """The sandbox's API list (`GET /api/v1/invoices`) carries each received blue invoice's 勾选
    as its export does (`deduction`; an issued invoice says nothing), so `fapiao reconcile
    --authority URL` over the connector names the same selection differences as the export."""
    r0, r1, _r2, _r3, r4, _r5 = books.received
    t, tax_id = str(books.tenant), books.factory.home.tax_id
    select = ("deduct", "select", "--tenant", t, "--period", PERIOD)
    assert books.cli(*select, r0.number, r1.number).exit_code == 0
    with SandboxThread(tmp_path / "sb") as sb, httpx.Client(base_url=sb.url) as http:
        at_platform(http, books)
        platform_select(http, tax_id, PERIOD, r0.number, r4.number)
        listed = http.get("/api/v1/invoices", params={"tax_id": tax_id, **NOV}).json()["items"]
        xlsx = http.get("/api/v1/export", params={"tax_id": tax_id, **NOV, "format": "xlsx"})
        rc, out = books.cli_json("reconcile", "--authority", sb.url, "--tenant", t, "--period", PERIOD)  # fmt: skip
    said = {item["number"]: item.get("deduction") for item in listed}
    assert said[r0.number] == {"state": "selected", "purpose": "deduct", "period": PERIOD}
    assert said[r1.number] == {"state": "unselected", "purpose": "", "period": ""}
    assert said[books.issued.number] is None
    assert rc == 1
    differs = {d["number"]: d["fields"]["selection"] for d in out["deduction_mismatch"]}
    assert differs == {
        r1.number: {"ledger": "selected", "authority": "unselected"},
        r4.number: {"ledger": "unselected", "authority": "selected"},
    }
    export = tmp_path / "export.xlsx"
    export.write_bytes(xlsx.content)
    assert reconcile(books, export)[1]["deduction_mismatch"] == out["deduction_mismatch"]


def test_the_work_list_shows_selection_differences(sqlite_site: Site) -> None:
    """Uploaded on the reconcile page: the result counts them, `/actions` groups them with their
    remedies, an action's page says what differs, the API lists them."""
    s = sqlite_site
    day = dt.date(2025, 3, 3)
    mine, theirs = (s.factory_a.invoice(issued=False, day=day) for _ in range(2))
    for inv in (mine, theirs):
        write_invoice(s.tmp / "received" / f"{inv.number}.json", inv)
    assert len(import_paths(s.ledger, [s.tmp / "received"]).imported) == 2
    done, refused = select_invoices(s.ledger, tenant_id=s.tenant_a, period="2025-03", keys=[mine.number])  # fmt: skip
    assert done and not refused
    records = [
        replace(record_from_invoice(mine), deduct_state="unselected"),
        replace(
            record_from_invoice(theirs),
            deduct_state="selected",
            deduct_purpose="deduct",
            deduct_period="2025-03",
        ),
    ]
    b = s.browser()
    b.login(s.user("accountant", "a"))
    page = upload(b, s, write_export(records, deduction=True))
    assert page.status_code == 200, page.text[:500]
    assert 'id="count-deduction_mismatch">2<' in page.text and "勾选不一致" in page.text

    listed = b.get("/actions", params={"category": "deduction_mismatch"}).text
    group = listed.split('id="group-deduction_mismatch"', 1)[1].split("</section>", 1)[0]
    assert mine.number in group and theirs.number in group
    assert "勾选不一致" in listed and "在平台上勾选" in group and "在账本中更正勾选" in group
    token = auth.create_token(s.ledger, "accountant_a")
    api = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"})
    acts = api.get("/api/v1/actions", params={"category": "deduction_mismatch"}).json()
    by_number = {a["number"]: a for a in acts}
    assert set(by_number) == {mine.number, theirs.number}
    assert by_number[mine.number]["remedy"] == "select_at_authority"
    item = b.get(f"/actions/{by_number[mine.number]['id']}").text
    differs = item.split('id="action-differs">', 1)[1].split("</td>", 1)[0]
    assert "勾选状态：账簿 已勾选 · 平台 未勾选" in differs and "2025-03" in differs
