"""`fapiao import` of the platform's 全量发票查询 export (tests/data/authority-export/, copied from the
shared samples, a synthetic export made by other hands than the reader's): one invoice a row, kept
with the export as its original, a bad row rejected alone, a workbook that is no export one reject.
Checked through the installed console script, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from fapiao.codec import invoice_from_json
from fapiao.ledger.store import Ledger
from fapiao.parse.safety import OLE
from fapiao_dev.sandbox.run import SandboxThread
from tests.conftest import run_cli, write_invoice
from tests.export_support import (
    CSV,
    HOME,
    HOME_NAME,
    XLSX,
    own_invoice,
    staff_list,
    word_document,
    write_json,
    xls_of,
)

RED = "25442000000078900377"  # row 7: reverses 25442000000078900001 (row 6)


def db_of(ledger: Ledger) -> str:
    ledger.add_tenant(tax_id=HOME, name=HOME_NAME)
    return ledger.engine.url.render_as_string(hide_password=False)


def imported(db: str, *paths: Path) -> dict:
    proc = run_cli("--db", db, "import", *map(str, paths), "--json")
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_each_row_of_the_export_becomes_an_invoice_the_platform_list_then_matches(ledger):
    db = db_of(ledger)
    out = imported(db, XLSX)
    assert len(out["imported"]) == 12 and out["rejected"] == []
    assert {o["file"] for o in out["imported"]} == {f"{XLSX}[row {n}]" for n in range(2, 14)}
    for o in out["imported"]:  # each says what it lacks
        assert [f["code"] for f in o["findings"]] == ["from_platform_list"]
    # the ledger now holds exactly what the platform lists: nothing missing, nothing different
    proc = run_cli("--db", db, "reconcile", "--authority", str(XLSX), "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, report
    assert report["ledger_count"] == report["authority_count"] == 12
    assert report["missing_in_ledger"] == report["missing_at_authority"] == []
    assert report["mismatched"] == []
    red = next(o for o in out["imported"] if o["number"] == RED)
    shown = json.loads(run_cli("--db", db, "show", red["id"], "--json", check=True).stdout)
    assert shown["status"] == "red" and shown["direction"] == "received"
    assert shown["original"] == {"code": "", "number": "25442000000078900001"}
    assert shown["total"] == "-10600.00" and shown["items"] == []
    assert shown["source"] == "authority"
    assert shown["original_file"]["name"] == f"{XLSX}[row 7]"
    assert shown["original_file"]["sha256"] == hashlib.sha256(XLSX.read_bytes()).hexdigest()


def test_the_same_list_as_csv_finds_every_invoice_already_there(ledger):
    db = db_of(ledger)
    assert len(imported(db, XLSX)["imported"]) == 12
    again = imported(db, CSV)
    assert again["imported"] == [] and len(again["duplicates"]) == 12


def test_a_row_that_cannot_be_read_is_rejected_alone(ledger, tmp_path):
    db = db_of(ledger)
    lines = CSV.read_text(encoding="utf-8-sig").splitlines()
    assert lines[3].split(",")[2:4] == ["", "25332000000031415926"]  # file row 4
    cells = lines[3].split(",")
    cells[9] = "1188.1x2"  # its 金额
    lines[3] = ",".join(cells)
    broken = tmp_path / "全量发票查询.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    out = imported(db, broken)
    assert len(out["imported"]) == 11
    (rejected,) = out["rejected"]
    assert rejected["file"] == f"{broken}[row 4]"
    assert [(f["code"], f["field"]) for f in rejected["findings"]] == [
        ("field_invalid", "row 4: 金额")
    ]
    assert rejected.get("review")  # kept in the review queue with the file
    # a person's output names the row too (rich would read `[row 4]` as markup and drop it)
    again = run_cli("--db", db, "import", str(broken))
    assert f"✗ {broken}[row 4]\n" in again.stdout, again.stdout
    queue = run_cli("--db", db, "review", "show", str(rejected["review"]), check=True).stdout
    assert f"{broken}[row 4]" in queue, queue


def test_another_company_s_export_is_one_reject_naming_whose_it_is(ledger, tmp_path):
    """Not a review item for each of its rows: the file, refused whole."""
    ledger.add_tenant(tax_id="91320594769869645C", name="苏州另一家公司")
    db = ledger.engine.url.render_as_string(hide_password=False)
    out = imported(db, XLSX)
    assert out["imported"] == []
    (rejected,) = out["rejected"]
    assert rejected["file"] == str(XLSX)
    assert [(f["code"], f["severity"]) for f in rejected["findings"]] == [
        ("export_not_ours", "error")
    ]
    assert HOME in rejected["findings"][0]["message"] and "12" in rejected["findings"][0]["message"]
    queue = json.loads(run_cli("--db", db, "review", "list", "--json", check=True).stdout)
    assert [item["file"] for item in queue] == [str(XLSX)]
    # a row of it that cannot be read is still told apart, not lost in the file's reject
    lines = CSV.read_text(encoding="utf-8-sig").splitlines()
    cells = lines[3].split(",")
    cells[9] = "1188.1x2"  # file row 4's 金额
    lines[3] = ",".join(cells)
    broken = tmp_path / "另一家的全量发票查询.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    out = imported(db, broken)
    assert sorted((r["file"], r["findings"][0]["code"]) for r in out["rejected"]) == [
        (str(broken), "export_not_ours"),
        (f"{broken}[row 4]", "field_invalid"),
    ]
    (whole,) = [r for r in out["rejected"] if r["file"] == str(broken)]
    assert "11 行" in whole["findings"][0]["message"]  # the rows it holds, the bad one apart
    # zipped, and beside the same list unzipped: a reject for each list, by its own name
    bundle = tmp_path / "另一家.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.write(XLSX, "全量发票查询.xlsx")
    out = imported(db, bundle, XLSX)
    assert sorted((r["file"], r["findings"][0]["code"]) for r in out["rejected"]) == sorted(
        [(str(XLSX), "export_not_ours"), (f"{bundle}!全量发票查询.xlsx", "export_not_ours")]
    )
    assert all("12 行" in r["findings"][0]["message"] for r in out["rejected"])


def test_a_workbook_that_is_not_the_export_is_one_rejected_file(ledger, tmp_path):
    db = db_of(ledger)
    path = _write(tmp_path / "花名册.xlsx", staff_list())
    out = imported(db, path)
    assert out["imported"] == []
    (rejected,) = out["rejected"]  # one, not each XML member of the zip
    assert rejected["file"] == str(path)
    assert [f["code"] for f in rejected["findings"]] == ["unsupported_format"]
    assert "全量发票查询" in rejected["findings"][0]["message"]


def test_the_export_zipped_is_read_as_the_list_and_an_office_file_in_it_is_one_reject(
    ledger, tmp_path
):
    """A zip of what the platform gave (the list as xlsx and as csv) and of what else was on the
    desk (a staff list, a Word memo): the rows are invoices, each other document one reject,
    never one for each XML part of it."""
    db = db_of(ledger)
    bundle = tmp_path / "十一月.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(XLSX, "全量发票查询.xlsx")
        z.write(CSV, "全量发票查询.csv")
        z.writestr("花名册.xlsx", staff_list())
        z.writestr("说明.docx", word_document())
    out = imported(db, bundle)
    imported_from = {o["file"].rpartition("[")[0] for o in out["imported"]}
    assert len(out["imported"]) == 12 and imported_from == {f"{bundle}!全量发票查询.xlsx"}
    assert len(out["duplicates"]) == 12  # the csv: the same rows
    rejected = {r["file"]: [f["code"] for f in r["findings"]] for r in out["rejected"]}
    assert rejected == {
        f"{bundle}!花名册.xlsx": ["unsupported_format"],
        f"{bundle}!说明.docx": ["unsupported_format"],
    }
    alone = imported(db, _write(tmp_path / "说明.docx", word_document()))
    assert [r["file"] for r in alone["rejected"]] == [str(tmp_path / "说明.docx")]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


ROW3 = "25312000000024681357"  # 上海示范物流, with a 备注 the export gives on one line
ITEM = "*运输服务*国内道路货物运输服务"


def own_file(tmp_path: Path, number: str, **changes: str) -> Path:
    """The invoice's own file as its issuer's system writes it: the export's row read by
    `fapiao parse` (nothing stored), with what only the file has (a line item, the check code),
    its 备注 broken over lines, and `changes`."""
    doc = own_invoice(number, item=ITEM, rate="0.09")
    doc["check_code"] = "13572468024681357902"
    doc["remarks"] = doc["remarks"].replace(" ", "\n")
    return write_json(tmp_path / f"{number}.json", doc | changes)


def shown(db: str, invoice_id: str) -> dict:
    return json.loads(run_cli("--db", db, "show", invoice_id, "--json", check=True).stdout)


def test_the_invoice_s_own_file_completes_the_record_taken_from_the_list(ledger, tmp_path):
    db = db_of(ledger)
    out = imported(db, XLSX)
    (row,) = [o for o in out["imported"] if o["number"] == ROW3]
    own = own_file(tmp_path, ROW3)
    later = imported(db, own)
    assert later["imported"] == later["conflicts"] == later["duplicates"] == []
    assert [(o["id"], o["file"]) for o in later["completed"]] == [(row["id"], str(own))]
    record = shown(db, row["id"])
    assert record["source"] == "file" and record["check_code"] == "13572468024681357902"
    assert [i["name"] for i in record["items"]] == [ITEM]
    assert record["remarks"] == "运输工具：沪A·D12345\n起运地：上海\n到达地：北京"  # the file's
    assert record["original_file"]["name"] == str(own)
    assert record["original_file"]["sha256"] == hashlib.sha256(own.read_bytes()).hexdigest()
    assert "from_platform_list" not in [f["code"] for f in record["findings"]]
    assert record["authority_state"] == "confirmed"  # the platform's state of it is unchanged
    assert [e["action"] for e in record["events"]][-1] == "invoice.completed"
    run_cli("--db", db, "audit", "verify", check=True)  # rows and their hashes renewed together
    # the same file again, and the platform's list again: nothing changes
    assert [o["id"] for o in imported(db, own)["duplicates"]] == [row["id"]]
    again = imported(db, CSV)
    assert len(again["duplicates"]) == 12 and again["conflicts"] == again["completed"] == []
    proc = run_cli("--db", db, "reconcile", "--authority", str(XLSX), "--json")
    report = json.loads(proc.stdout)
    assert report["missing_in_ledger"] == report["mismatched"] == [], report
    # the accounting archive carries the file as the original its event recorded
    pkg = tmp_path / "pkg"
    env = {"FAPIAO_SIGNING_KEY": str(tmp_path / "signing.pem")}
    run_cli("--db", db, "archive", "export", "--tenant", HOME, "--period", "2025-01",
            "--out", str(pkg), env=env, check=True)  # fmt: skip
    run_cli("archive", "verify", str(pkg), check=True, env={"FAPIAO_DB": "/nonexistent/x"})
    assert (pkg / "invoices" / ROW3 / "original.json").read_bytes() == own.read_bytes()
    assert (pkg / "invoices" / "25112000000013572468" / "original.xlsx").read_bytes() == (
        XLSX.read_bytes()
    )  # a row's original is the export, named as a spreadsheet (not as an OFD, also a zip)


def test_a_file_that_differs_from_the_list_stays_a_conflict_and_the_record_as_it_was(
    ledger, tmp_path
):
    db = db_of(ledger)
    (row,) = [o for o in imported(db, XLSX)["imported"] if o["number"] == ROW3]
    own = own_file(tmp_path, ROW3, seller={"name": "上海另一家物流有限公司",
                                            "tax_id": "91310115MA1HT6W455"})  # fmt: skip
    later = imported(db, own)
    assert later["completed"] == [] and len(later["conflicts"]) == 1
    assert later["conflicts"][0]["fields"] == ["check_code", "items", "remarks", "seller"]
    record = shown(db, row["id"])
    assert record["source"] == "authority" and record["items"] == []
    assert record["seller"]["name"] == "上海示范物流有限公司"


def test_the_list_imported_after_the_files_finds_their_invoices_already_there(ledger, tmp_path):
    db = db_of(ledger)
    own = own_file(tmp_path, ROW3)
    (mine,) = imported(db, own)["imported"]
    out = imported(db, XLSX)
    assert len(out["imported"]) == 11 and out["conflicts"] == []
    assert [(o["id"], o["number"]) for o in out["duplicates"]] == [(mine["id"], ROW3)]
    assert shown(db, mine["id"])["source"] == "file"


def test_the_list_and_a_file_in_one_import_end_as_one_full_record(ledger, tmp_path):
    db = db_of(ledger)
    own = own_file(tmp_path, ROW3, issuer="")  # its 开票人 unread: missing, not different
    out = imported(db, XLSX, own)  # one batch: the row is written, then completed
    assert len(out["imported"]) == 12 and out["conflicts"] == []
    (done,) = out["completed"]
    record = shown(db, done["id"])
    assert record["number"] == ROW3 and record["source"] == "file" and len(record["items"]) == 1
    run_cli("--db", db, "audit", "verify", check=True)


def test_rows_read_from_the_export_are_valid_invoices_for_the_model():
    """The same rows through `fapiao parse` (nothing stored): each a canonical invoice."""
    proc = run_cli("parse", str(CSV), "--json")
    docs = json.loads(proc.stdout)
    assert [d["file"] for d in docs] == [f"{CSV}[row {n}]" for n in range(2, 14)]
    for d in docs:
        assert [f["code"] for f in d["findings"]] == ["from_platform_list"]
        inv, problems = invoice_from_json(d)
        assert problems == [] and inv is not None and inv.items == ()


def test_a_download_cut_short_keeps_its_whole_rows_and_rejects_the_cut_one(ledger, tmp_path):
    db = db_of(ledger)
    data = CSV.read_bytes()
    cut = tmp_path / "全量发票查询-未下载完.csv"
    cut.write_bytes(data[: len(data) // 2])  # ends inside file row 7: "…,-10000.00,-600.00,-10600"
    out = imported(db, cut)
    assert [o["number"] for o in out["imported"]][-1] == "25442000000078900001"  # row 6
    assert len(out["imported"]) == 5
    (rejected,) = out["rejected"]
    assert rejected["file"] == f"{cut}[row 7]"
    assert [(f["code"], f["field"]) for f in rejected["findings"]] == [("unreadable", "row 7")]
    whole = tmp_path / "全量发票查询-无换行.csv"
    whole.write_bytes(data.rstrip(b"\r\n"))  # no line end after a whole last row: nothing cut
    assert len(imported(db, whole)["duplicates"]) == 5


def test_the_rows_are_confirmed_and_never_uploaded_while_a_file_s_invoice_is(
    ledger, factory, tmp_path
):
    """The platform lists them: uploading a row (the invoice's head only) would be refused as
    another invoice under its number, the entry parked and people called for nothing."""
    db = db_of(ledger)
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    own = write_invoice(tmp_path / "own.json", factory.invoice())
    out = imported(db, XLSX, own)
    rows = [o for o in out["imported"] if o["file"].startswith(str(XLSX))]
    (mine,) = [o for o in out["imported"] if o["file"] == str(own)]
    assert len(rows) == 12
    with SandboxThread(tmp_path / "sb") as sb:
        run_cli("--db", db, "sync", "--authority", sb.url, "--once", "--confirm-after", "0",
                check=True)  # fmt: skip
    shown = json.loads(run_cli("--db", db, "show", mine["id"], "--json", check=True).stdout)
    assert shown["authority_state"] in ("uploaded", "confirmed") and shown["authority_history"]
    for row in rows:
        shown = json.loads(run_cli("--db", db, "show", row["id"], "--json", check=True).stdout)
        assert shown["authority_state"] == "confirmed" and shown["authority_history"] == []


def test_an_xls_export_imports_as_the_list_and_another_old_office_file_is_one_reject(
    ledger, tmp_path
):
    """The list as an .xls (Excel 97-2003) imports row for row as the xlsx does; an .xls that is
    not the list, and a Word 97-2003 file (a compound file too), are each one reject naming it."""
    db = db_of(ledger)
    old = _write(tmp_path / "全量发票查询.xls", xls_of(XLSX.read_bytes()))
    out = imported(db, old)
    assert out["rejected"] == [] and len(out["imported"]) == 12
    assert {o["file"] for o in out["imported"]} == {f"{old}[row {n}]" for n in range(2, 14)}
    again = imported(db, XLSX)  # the same rows from the xlsx: nothing new, nothing different
    assert len(again["duplicates"]) == 12 and again["conflicts"] == []
    roster = _write(tmp_path / "花名册.xls", xls_of(staff_list()))
    # a compound file whose directory names a Word stream, not a workbook's
    memo = _write(
        tmp_path / "说明.doc",
        OLE + bytes(504) + "WordDocument".encode("utf-16-le") + bytes(2048),
    )
    out = imported(db, roster, memo)
    rejected = {r["file"]: [f["code"] for f in r["findings"]] for r in out["rejected"]}
    assert rejected == {str(roster): ["unsupported_format"], str(memo): ["unsupported_format"]}


def test_an_import_of_invoices_does_not_load_the_lists_reader(tmp_path):
    """The list's reader brings Arrow (a tenth of a second to load): an import that holds no list
    never loads it, though the list's format is asked about every file no other format claims."""
    invoice = write_json(tmp_path / "inv.json", own_invoice())
    script = (
        "import sys\n"
        "from fapiao.ingest import import_paths\n"
        "from fapiao.ledger.db import open_engine\n"
        "from fapiao.ledger.store import Ledger\n"
        f"ledger = Ledger(open_engine({str(tmp_path / 'l.db')!r}), actor='t')\n"
        f"ledger.add_tenant(tax_id={HOME!r}, name={HOME_NAME!r})\n"
        f"first = import_paths(ledger, [{str(invoice)!r}])\n"
        "print(len(first.imported), 'pyarrow' in sys.modules)\n"
        f"then = import_paths(ledger, [{str(CSV)!r}])\n"
        "print(len(then.imported), 'pyarrow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.split("\n")[:2] == ["1 False", "11 True"], out.stderr
