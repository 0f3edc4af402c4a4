"""The command-line contract of DESIGN.md, driven as a user or script would drive it."""

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import replace

import click
import pytest
import typer.main

from fapiao.cli import app
from fapiao.codec import invoice_to_json
from tests.conftest import run_cli, write_invoice


@pytest.fixture
def cli_db(db_url, factory):
    run_cli(
        "--db",
        db_url,
        "tenant",
        "add",
        "--tax-id",
        factory.home.tax_id,
        "--name",
        factory.home.name,
        check=True,
    )
    return db_url


def test_tenant_add_rejects_bad_tax_id(db_url):
    proc = run_cli(
        "--db",
        db_url,
        "tenant",
        "add",
        "--tax-id",
        "91110108MA01ABCD2Z",
        "--name",
        "某公司",
        "--json",
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["findings"][0]["code"] == "tax_id_invalid"


def test_import_rejects_bad_files_and_keeps_the_rest(cli_db, factory, tmp_path):
    good = [factory.invoice() for _ in range(3)]
    for n, inv in enumerate(good):
        write_invoice(tmp_path / "in" / f"good{n}.json", inv)
    bad_digit = replace(good[0], number=good[0].number[:-2] + "77")
    tid = bad_digit.seller.tax_id
    bad_digit = replace(
        bad_digit,
        seller=replace(bad_digit.seller, tax_id=tid[:-1] + ("1" if tid[-1] != "1" else "2")),
    )
    write_invoice(tmp_path / "in" / "check-digit.json", bad_digit)
    write_invoice(
        tmp_path / "in" / "totals.json",
        replace(good[1], number=good[1].number[:-2] + "66", total=1),
    )
    (tmp_path / "in" / "malformed.json").write_bytes(b'{"kind": "digital_special",')

    proc = run_cli("--db", cli_db, "import", str(tmp_path / "in"), "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert set(result) == {"imported", "duplicates", "conflicts", "rejected", "completed"}
    assert sorted(r["number"] for r in result["imported"]) == sorted(i.number for i in good)
    rejected = {r["file"].rsplit("/", 1)[1]: r["findings"][0]["code"] for r in result["rejected"]}
    assert rejected == {
        "check-digit.json": "tax_id_invalid",
        "totals.json": "sum_mismatch",
        "malformed.json": "unreadable",
    }
    for r in result["rejected"]:
        assert {"code", "field", "severity", "message"} <= set(r["findings"][0])

    listed = json.loads(run_cli("--db", cli_db, "list", "--json", check=True).stdout)
    assert len(listed) == 3

    again = run_cli("--db", cli_db, "import", str(tmp_path / "in"), "--json")
    result = json.loads(again.stdout)
    assert len(result["duplicates"]) == 3 and result["imported"] == []


def test_import_all_good_exits_zero(cli_db, factory, tmp_path):
    write_invoice(tmp_path / "a.json", factory.invoice())
    proc = run_cli("--db", cli_db, "import", str(tmp_path / "a.json"))
    assert proc.returncode == 0, proc.stderr
    assert "imported 1" in proc.stdout


def test_the_operation_log_writes_json_lines_at_info_and_nothing_by_default(
    cli_db, factory, tmp_path
):
    # structlog loads when the first line is written: both ways must still behave as configured
    for name in ("a", "b"):
        write_invoice(tmp_path / f"{name}.json", factory.invoice())
    quiet = run_cli("--db", cli_db, "import", str(tmp_path / "a.json"))
    assert quiet.returncode == 0 and quiet.stderr.strip() == ""  # (the progress line ends)
    told = run_cli(
        "--db", cli_db, "import", str(tmp_path / "b.json"),
        env={"FAPIAO_LOG_LEVEL": "info", "FAPIAO_LOG_FORMAT": "json"},
    )  # fmt: skip
    lines = [json.loads(line) for line in told.stderr.splitlines() if line.strip()]
    assert {line["event"] for line in lines} == {"ledger.write", "invoice.import"}
    (imported,) = [line for line in lines if line["event"] == "invoice.import"]
    assert imported["file"] == str(tmp_path / "b.json") and imported["outcome"] == "imported"
    assert all(line["level"] == "info" and line["timestamp"] for line in lines)


def test_list_json_csv_and_show(cli_db, factory, tmp_path):
    inv = factory.invoice(issued=True)
    write_invoice(tmp_path / "a.json", inv)
    run_cli("--db", cli_db, "import", str(tmp_path), check=True)
    (row,) = json.loads(run_cli("--db", cli_db, "list", "--json", check=True).stdout)
    expected = invoice_to_json(inv)
    row["items"] = [
        {k: v for k, v in item.items() if k in expected["items"][0]} for item in row["items"]
    ]
    assert {
        k: row[k] for k in expected
    } == expected  # other capabilities may add keys, never change ours
    assert (
        row["direction"] == "issued"
        and row["source"] == "file"
        and row["authority_state"] == "queued"
    )

    table = list(
        csv.DictReader(
            io.StringIO(
                run_cli("--db", cli_db, "list", "--csv", "--headers", "en", check=True).stdout
            )
        )
    )  # the field names and codes scripts read
    assert table[0]["number"] == inv.number and table[0]["total"] == expected["total"]
    assert table[0]["direction"] == "issued"

    shown = json.loads(
        run_cli("--db", cli_db, "show", inv.identity.key, "--json", check=True).stdout
    )
    assert shown["number"] == inv.number
    assert [e["action"] for e in shown["events"]] == ["invoice.imported"]
    assert run_cli("--db", cli_db, "show", "nope").returncode == 1


def test_list_filters_on_cli(cli_db, factory, tmp_path):
    issued = factory.invoice(issued=True)
    received = factory.invoice(issued=False)
    write_invoice(tmp_path / "a.json", issued)
    write_invoice(tmp_path / "b.json", received)
    run_cli("--db", cli_db, "import", str(tmp_path), check=True)
    out = json.loads(
        run_cli("--db", cli_db, "list", "--direction", "received", "--json", check=True).stdout
    )
    assert [r["number"] for r in out] == [received.number]
    assert run_cli("--db", cli_db, "list", "--period", "2024-13").returncode == 2
    # a period as a clerk types it: 2024年11月, 2024/11 and 202411 are 2024-11
    month = received.issue_date.strftime("%Y-%m")
    year, mm = month.split("-")
    for typed in (f"{year}年{int(mm)}月", f"{year}/{mm}", f"{year}{mm}"):
        got = run_cli("--db", cli_db, "list", "--period", typed, "--json", check=True)
        assert received.number in {r["number"] for r in json.loads(got.stdout)}, typed


def test_parse_json_stores_nothing(cli_db, factory, tmp_path):
    inv = factory.invoice()
    path = write_invoice(tmp_path / "a.json", inv)
    bad = write_invoice(tmp_path / "b.json", replace(inv, total=inv.total + 5))
    proc = run_cli("--db", cli_db, "parse", str(path), str(bad), "--json")
    assert proc.returncode == 1
    first, second = json.loads(proc.stdout)
    assert first["number"] == inv.number and first["findings"] == []
    assert [f["code"] for f in second["findings"]] == ["sum_mismatch"]
    assert json.loads(run_cli("--db", cli_db, "list", "--json", check=True).stdout) == []


def test_usage_error_exits_two(db_url):
    assert run_cli("--db", db_url, "list", "--bogus").returncode == 2


def test_db_from_environment(factory, tmp_path):
    import os

    env_db = str(tmp_path / "env.sqlite")
    proc = run_cli(
        "tenant",
        "add",
        "--tax-id",
        factory.home.tax_id,
        "--name",
        "甲",
        env={**os.environ, "FAPIAO_DB": env_db},
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "env.sqlite").exists()


def test_demo_runs(tmp_path):
    proc = run_cli("demo", "--dir", str(tmp_path / "demo"), "--count", "120")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "imported 121" in proc.stdout
    assert "rejected+quarantined 4" in proc.stdout
    assert "audit chain" in proc.stdout


def test_list_csv_keeps_formulas_out_of_spreadsheets(cli_db, factory, tmp_path):
    blue = factory.invoice(issued=True)
    hostile = replace(blue, buyer=replace(blue.buyer, name='=HYPERLINK("http://x","点我")'))
    red = factory.red_of(factory.invoice(issued=True))
    write_invoice(tmp_path / "a.json", hostile)
    write_invoice(tmp_path / "b.json", red)
    run_cli("--db", cli_db, "import", str(tmp_path), check=True)
    table = {
        r["发票号码"]: r
        for r in csv.DictReader(
            io.StringIO(run_cli("--db", cli_db, "list", "--csv", check=True).stdout)
        )
    }
    assert table[hostile.number]["购买方名称"] == "'" + hostile.buyer.name
    assert table[red.number]["价税合计"].startswith("-")  # a negative amount stays a number


def test_a_missing_issue_date_is_named_missing_and_a_bad_one_invalid(tmp_path):
    """The message a clerk reads: not `开票日期无效：None` for a date that is not there."""
    absent = tmp_path / "absent.json"
    absent.write_text(json.dumps({"kind": "vat_electronic_normal"}), encoding="utf-8")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"issue_date": "2024-13-45"}), encoding="utf-8")
    first, second = json.loads(run_cli("parse", str(absent), str(wrong), "--json").stdout)
    (missing,) = [f for f in first["findings"] if f["field"] == "issue_date"]
    assert missing["code"] == "field_missing" and "None" not in missing["message"]
    (invalid,) = [f for f in second["findings"] if f["field"] == "issue_date"]
    assert invalid["code"] == "date_invalid" and "2024-13-45" in invalid["message"]


def test_confirmations_speak_chinese_first(db_url, tmp_path):
    """A colleague who reads only Chinese is told what happened: each confirmation starts with
    its Chinese words, the English after them."""
    env = {"FAPIAO_DB": db_url, "FAPIAO_PASSWORD": "correct horse battery staple 7"}
    said = [
        run_cli("tenant", "add", "--tax-id", "91110108MA0TL7K20Q", "--name", "北京[示例]公司",
                env=env, check=True),
        run_cli("user", "add", "wang", "--role", "admin", env=env, check=True),
        run_cli("--as", "wang", "user", "add", "lin", "--role", "accountant", env=env, check=True),
        run_cli("--as", "wang", "user", "role", "lin", "viewer", env=env, check=True),
        run_cli("--as", "wang", "user", "disable", "lin", env=env, check=True),
    ]  # fmt: skip
    firsts = [proc.stdout.strip().split()[0] for proc in said]
    assert firsts == ["企业", "已添加用户", "已添加用户", "用户", "用户"], [p.stdout for p in said]
    assert "北京[示例]公司" in said[0].stdout  # brackets in a name kept, not read as markup


def test_every_command_s_help_speaks_chinese_first():
    """`fapiao --help` and each group's list: every command's line starts with its Chinese
    words, so a colleague who reads only Chinese can find the command; the English follows."""
    group = typer.main.get_command(app)
    lines = dict(_command_lines(group, "fapiao"))
    assert len(lines) > 100  # every command, not a few
    english_first = {path: line for path, line in lines.items() if not _CJK.match(line)}
    assert english_first == {}
    assert all(_LATIN.search(line) for line in lines.values())  # and the English too


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{3}")


def _command_lines(command: click.Command, path: str) -> Iterator[tuple[str, str]]:
    """Each command's line as a group's --help lists it (click's short help)."""
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield f"{path} {name}", sub.get_short_help_str(limit=300)
            yield from _command_lines(sub, f"{path} {name}")


def test_usage_errors_speak_chinese_first_and_exit_2(db_url):
    """Click's own messages are English only: each comes after its Chinese, exit code 2 as the
    contract says; a command's own exit code and --help are as before."""
    env = {"FAPIAO_DB": db_url}
    cases = {
        ("backup", "create"): "缺少必填项 --to / Missing option '--to'",
        ("list", "--bogus"): "没有这个选项 --bogus / No such option",
        ("import",): "缺少必填项 paths / Missing argument",
        ("import", "--batch-size", "0", "x"): "取值无效 --batch-size / Invalid value",
        ("nosuch",): "没有这个命令 / No such command",
    }
    for args, said in cases.items():
        proc = run_cli(*args, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        assert said in " ".join(proc.stderr.split()), (args, proc.stderr)
    assert run_cli("list", "--help", env=env).returncode == 0
    assert run_cli("show", "404", env=env).returncode != 0  # a command's own exit, not 0


def test_import_help_names_the_importer_s_own_batch_size():
    """The help says the default in words (the CLI does not load the importer to print it): it
    must be the importer's."""
    from fapiao.ingest import BATCH_SIZE

    shown = " ".join(run_cli("import", "--help", env={"COLUMNS": "200"}, check=True).stdout.split())
    assert f"默认 {BATCH_SIZE}" in shown and f"default {BATCH_SIZE}" in shown
