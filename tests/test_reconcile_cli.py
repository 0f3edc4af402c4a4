"""`fapiao reconcile` and `fapiao actions` through the installed console script, against the sample
全量发票查询 export (tests/data/authority-export/, copied from the shared samples)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fapiao.authority.export_file import read_export
from fapiao.ledger.store import Ledger
from tests.conftest import run_cli
from tests.export_support import word_document, xls_of
from tests.test_reconcile_engine import put

DATA = Path(__file__).parent / "data" / "authority-export"
XLSX = DATA / "全量发票查询-示例.xlsx"
CSV = DATA / "全量发票查询-示例.csv"
HOME = "91110108MA0TL7K20Q"
NOT_IN_LEDGER = "25312000000024681357"  # row 2
CENT_OFF = "25122000000005550123"  # row 4: the ledger says 0.01 more tax
EXTRA = "25112000000013570001"  # only in the ledger


@pytest.fixture
def db(ledger: Ledger) -> str:
    """A ledger holding the export's invoices, less one, one a cent off, one more of its own."""
    ledger.add_tenant(tax_id=HOME, name="北京示例账务科技有限公司")
    records, problems = read_export(XLSX.read_bytes())
    assert len(records) == 12 and problems == []
    invoices = [r.invoice() for r in records if r.number != NOT_IN_LEDGER]
    invoices = [
        replace(inv, tax=inv.tax + 1, total=inv.total + 1) if inv.number == CENT_OFF else inv
        for inv in invoices
    ]
    invoices.append(replace(invoices[0], number=EXTRA))
    put(ledger, invoices)
    return ledger.engine.url.render_as_string(hide_password=False)


def reconcile_json(db: str, *args: str) -> tuple[int, dict]:
    proc = run_cli("--db", db, "reconcile", "--authority", str(XLSX), "--json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_csv_and_period(db: str) -> None:
    proc = run_cli(
        "--db", db, "reconcile", "--authority", str(CSV), "--period", "2025-02", "--json"
    )
    out = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert out["ledger_count"] == 2 and out["authority_count"] == 2
    assert [m["number"] for m in out["mismatched"]] == [CENT_OFF]
    assert out["missing_in_ledger"] == [] and out["missing_at_authority"] == []
    proc = run_cli(
        "--db", db, "reconcile", "--authority", str(CSV), "--period", "2024-06", "--json"
    )
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["matched"] == 1  # 2024-06-30 23:59:59 is still June


def test_json_and_reports_against_the_export(db: str, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    xlsx = tmp_path / "report.xlsx"
    code, out = reconcile_json(db, "--out", str(html))
    assert code == 1
    assert out["ledger_count"] == 12 and out["authority_count"] == 12 and out["matched"] == 11
    assert out["missing_in_ledger"] == [{"code": "", "number": NOT_IN_LEDGER}]
    assert out["missing_at_authority"] == [{"code": "", "number": EXTRA}]
    assert out["mismatched"] == [
        {
            "code": "",
            "number": CENT_OFF,
            "fields": {
                "tax": {"ledger": "460.19", "authority": "460.18"},
                "total": {"ledger": "4000.01", "authority": "4000.00"},
            },
        }
    ]
    assert out["status_mismatch"] == [] and out["duplicates_at_authority"] == []
    proc = run_cli("--db", db, "reconcile", "--authority", str(XLSX), "--out", str(xlsx))
    assert proc.returncode == 1 and "report.xlsx" in proc.stdout
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert NOT_IN_LEDGER in page and "@media print" in page and "税务平台缺失" in page
    wb = load_workbook(xlsx)
    assert wb.sheetnames == [
        "汇总",
        "税务平台缺失",
        "账簿缺失",
        "信息不一致",
        "状态不一致",
        "平台重复",
    ]
    sheet = wb["信息不一致"]
    assert sheet["B1"].value == "发票号码" and sheet["B2"].value == CENT_OFF
    assert sheet["I2"].value == "460.19；4000.01"
    missing = wb["账簿缺失"]
    assert missing["B2"].value == NOT_IN_LEDGER and missing["H1"].value == "处理事项"
    assert missing["H2"].value.isdigit() and missing["I2"].value == "以税务平台记录入账"


def test_bad_input(tmp_path: Path) -> None:
    """Usage errors do not depend on the database: one SQLite ledger with its tenant."""
    from fapiao.ledger.db import open_engine

    db = str(tmp_path / "ledger.sqlite")
    engine = open_engine(db)
    Ledger(engine).add_tenant(tax_id=HOME, name="北京示例账务科技有限公司")
    engine.dispose()
    junk = tmp_path / "notes.csv"
    junk.write_text("会议纪要,meeting\n1,2\n", encoding="utf-8")
    proc = run_cli("--db", db, "reconcile", "--authority", str(junk))
    assert proc.returncode == 1 and "not a usable platform export" in proc.stderr
    assert (
        run_cli("--db", db, "reconcile", "--authority", str(XLSX), "--tenant", "nobody").returncode
        == 2
    )
    assert (
        run_cli("--db", db, "reconcile", "--authority", str(XLSX), "--period", "2025-13").returncode
        == 2
    )
    assert (
        run_cli("--db", db, "reconcile", "--authority", str(XLSX), "--out", "r.pdf").returncode == 2
    )
    assert (
        run_cli("--db", db, "reconcile", "--authority", str(tmp_path / "absent.xlsx")).returncode
        == 2
    )


def test_actions_from_finding_to_resolution(db: str) -> None:
    reconcile_json(db)
    listed = json.loads(run_cli("--db", db, "actions", "list", "--json", check=True).stdout)
    by_number = {a["number"]: a for a in listed}
    assert set(by_number) == {NOT_IN_LEDGER, EXTRA, CENT_OFF}
    take = by_number[NOT_IN_LEDGER]
    assert take["remedy"] == "take_authority" and take["state"] == "open"

    proc = run_cli(
        "--db", db, "actions", "set", take["id"], "--owner", "王芳", "--note", "核对无误", "--json"
    )
    assert json.loads(proc.stdout)["owner"] == "王芳"
    done = json.loads(run_cli("--db", db, "actions", "do", take["id"], "--json", check=True).stdout)
    assert done["state"] == "resolved"
    letter = run_cli("--db", db, "actions", "do", by_number[CENT_OFF]["id"], check=True).stdout
    assert CENT_OFF in letter and "副本" in letter

    _, out = reconcile_json(db)
    assert out["missing_in_ledger"] == []
    shown = json.loads(
        run_cli("--db", db, "actions", "show", take["id"], "--json", check=True).stdout
    )
    assert [h["action"] for h in shown["history"]][:3] == [
        "reconcile.action_opened",
        "reconcile.action_updated",
        "reconcile.action_performed",
    ]
    active = json.loads(run_cli("--db", db, "actions", "list", "--json", check=True).stdout)
    assert {a["number"] for a in active} == {EXTRA, CENT_OFF}
    assert run_cli("--db", db, "actions", "set", take["id"], "--state", "finished").returncode == 2
    assert run_cli("--db", db, "audit", "verify").returncode == 0


def test_reconcile_against_the_platform_url(db: str, tmp_path: Path) -> None:
    """A real sandbox on a free port: everything uploaded but EXTRA; --authority URL lists it."""
    from fapiao.authority.http import HttpConnector
    from fapiao.codec import invoice_from_json
    from fapiao.ledger.db import open_engine
    from fapiao.ledger.listing import Listing
    from fapiao.ledger.queries import list_invoices
    from fapiao_dev.sandbox.run import SandboxThread

    engine = open_engine(db)
    docs = [d for d in list_invoices(engine, Listing()) if d["number"] != EXTRA]
    engine.dispose()
    with SandboxThread(tmp_path / "sandbox") as sandbox, HttpConnector(sandbox.url) as conn:
        for doc in docs:
            inv, problems = invoice_from_json(doc)
            assert inv is not None, problems
            conn.upload(inv, f"test-{inv.identity.key}")
        proc = run_cli("--db", db, "reconcile", "--authority", sandbox.url, "--json")
    out = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    assert out["missing_at_authority"] == [{"code": "", "number": EXTRA}]
    assert out["matched"] == 11 and out["missing_in_ledger"] == [] and out["mismatched"] == []


def summary(result: dict) -> dict:
    """What a reconcile found, without where its list came from."""
    keys = ("ledger_count", "authority_count", "matched", "mismatched", "missing_in_ledger",
            "missing_at_authority")  # fmt: skip
    return {key: result[key] for key in keys}


def test_the_export_downloaded_as_a_zip_reconciles_as_the_list(db: str, tmp_path: Path) -> None:
    """The platform hands a long period's list as a zip of workbooks: read member by member as
    a folder of them is (the same findings as the xlsx alone); another file in the zip is one
    finding naming it, not a wall of errors from its XML parts."""
    _, alone = reconcile_json(db)
    bundle = tmp_path / "全量发票查询.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(XLSX, "全量发票查询_1.xlsx")
        z.writestr("__MACOSX/._全量发票查询_1.xlsx", b"\x00\x05\x16\x07")
    proc = run_cli("--db", db, "reconcile", "--authority", str(bundle), "--json")
    zipped = json.loads(proc.stdout)
    assert summary(zipped) == summary(alone)
    with zipfile.ZipFile(bundle, "a") as z:
        z.writestr("说明.docx", word_document())
    proc = run_cli("--db", db, "reconcile", "--authority", str(bundle), "--json")
    said = " ".join(proc.stdout.split()) + " ".join(proc.stderr.split())
    assert proc.returncode == 1 and "说明.docx" in said and "xl/" not in said  # as a folder


def test_an_xls_export_reconciles_as_the_xlsx(db: str, tmp_path: Path) -> None:
    """The older Excel format (.xls), which some issuing software and older platform pages give:
    the same list read the same way, its dates as real date cells included."""
    _, alone = reconcile_json(db)
    old = tmp_path / "全量发票查询.xls"
    old.write_bytes(xls_of(XLSX.read_bytes()))
    proc = run_cli("--db", db, "reconcile", "--authority", str(old), "--json")
    assert proc.returncode == 1, proc.stderr
    read = json.loads(proc.stdout)
    assert summary(read) == summary(alone)
    assert read["authority_count"] == 12


def test_every_open_action_of_a_category_at_once(db: str, ledger: Ledger) -> None:
    """After an outage: `actions do --category missing_at_authority` puts every invoice the
    platform lacks back in the outbox, one action after another; ids given are carried out the
    same way, one that fails named and the others done."""
    records, _ = read_export(XLSX.read_bytes())
    lost = [f"251120000000135700{n:02d}" for n in range(2, 6)]
    put(ledger, [replace(records[0].invoice(), number=number) for number in lost])
    reconcile_json(db)
    listed = json.loads(run_cli("--db", db, "actions", "list", "--json", check=True).stdout)
    missing = {a["number"]: a for a in listed if a["category"] == "missing_at_authority"}
    assert set(missing) == {EXTRA, *lost}

    proc = run_cli(
        "--db",
        db,
        "actions",
        "do",
        "--category",
        "missing_at_authority",
        "--tenant",
        HOME,
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    done = json.loads(proc.stdout)
    assert sorted(d["action_id"] for d in done["performed"]) == sorted(
        int(a["id"]) for a in missing.values()
    )
    assert {d["state"] for d in done["performed"]} == {"in_progress"} and done["failed"] == []
    states = {
        inv["number"]: inv["authority_state"]
        for inv in json.loads(run_cli("--db", db, "list", "--json", check=True).stdout)
    }
    assert {states[number] for number in missing} == {"queued"}  # back in the outbox
    again = run_cli("--db", db, "actions", "do", "--category", "missing_at_authority")
    assert again.returncode == 0 and "执行 performed 0" in again.stdout  # none open any more

    others = [a["id"] for a in listed if a["category"] != "missing_at_authority"]
    proc = run_cli("--db", db, "actions", "do", *others, "999999", "--json")
    assert proc.returncode == 1  # the unknown one
    done = json.loads(proc.stdout)
    assert sorted(d["action_id"] for d in done["performed"]) == sorted(int(i) for i in others)
    assert [f["action_id"] for f in done["failed"]] == [999999] and "999999" in proc.stderr
    for wrong in (
        (),
        ("--category", "mismatched", others[0]),
        (others[0], "--tenant", HOME),
        ("--category", "missing_at_authorty"),  # a typo does nothing at all
    ):
        assert run_cli("--db", db, "actions", "do", *wrong).returncode == 2
    assert run_cli("--db", db, "audit", "verify").returncode == 0
