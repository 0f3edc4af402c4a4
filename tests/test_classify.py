"""Categories from 税收分类 short names and codes, a tenant's own table, and rules learned from the
accountant's corrections — through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from fapiao.ingest import import_paths
from fapiao.insight.classify import DEFAULT_TABLE, Classifier, short_name, tax_code
from fapiao.ledger import audit
from fapiao.ledger.store import Ledger
from fapiao.model import Kind, LineItem
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli, write_invoice

CLF = Classifier({c.code: c for c in DEFAULT_TABLE})


def test_lines_by_short_name_and_code() -> None:
    assert short_name("*餐饮服务*餐费") == "餐饮服务" and short_name("餐费") == ""
    assert tax_code("", "编码 3070401000000000000 餐费") == "3070401000000000000"
    assert tax_code("30704010000000000001") == ""  # 20 digits is not a classification code
    table = [
        ("*餐饮服务*餐费", "", ("meals", "name")),
        ("*运输服务*国内道路货物运输服务", "", ("transport", "name")),
        ("*陆路旅客运输服务*客运", "", ("transport", "name")),  # contains 运输服务
        ("*电子计算机*笔记本电脑", "", ("it_equipment", "name")),
        ("*餐饮服务*会议", "3070402000000000000", ("lodging", "code")),  # the code wins
        ("办公桌", "", ("other", "none")),
    ]
    for name, spec, expected in table:
        assert CLF.line(name, spec) == expected, name


def _ledger_with(ledger: Ledger, tmp: Path, factory: InvoiceFactory, invoices: list) -> None:
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n, inv in enumerate(invoices):
        write_invoice(tmp / "in" / f"{n:03d}.json", inv)
    import_paths(ledger, [tmp / "in"])


def _received(factory: InvoiceFactory, supplier: int, item: str, rate: str = "0.06"):  # type: ignore[no-untyped-def]
    inv = factory.invoice(issued=False, kind=Kind.DIGITAL_SPECIAL)
    line = LineItem(name=item, amount=10000, tax_rate=rate, tax=int(10000 * float(rate)))
    return dataclasses.replace(
        inv,
        seller=factory.others[supplier],
        items=(line,),
        amount=line.amount,
        tax=line.tax,
        total=line.amount + line.tax,
    )


def test_corrections_teach_a_counterparty_rule(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    f = InvoiceFactory(seed=21)
    invoices = [
        _received(f, 0, "*餐饮服务*餐费"),
        _received(f, 0, "*餐饮服务*餐费"),
        _received(f, 0, "*餐饮服务*餐费"),
        _received(f, 1, "*运输服务*货运", "0.09"),
    ]
    _ledger_with(ledger, tmp_path, f, invoices)
    env = {"FAPIAO_DB": db_url}
    meals = json.loads(run_cli("list", "--json", "--category", "meals", env=env).stdout)
    assert len(meals) == 3 and all(r["items"][0]["category"] == "meals" for r in meals)
    ids = [r["id"] for r in meals]
    first = json.loads(run_cli("classify", "correct", ids[0], "lodging", "--json", env=env).stdout)
    assert first["rule"] is None  # one correction is not yet a habit
    second = json.loads(run_cli("classify", "correct", ids[1], "lodging", "--json", env=env).stdout)
    assert second["rule"]["category"] == "lodging" and second["rule"]["source"] == "learned"
    assert second["reclassified"] == 1  # the third invoice of that supplier moved
    lodging = json.loads(run_cli("list", "--json", "--category", "lodging", env=env).stdout)
    assert sorted(r["id"] for r in lodging) == sorted(ids)
    rules = json.loads(run_cli("classify", "rules", "--json", env=env).stdout)
    assert [(r["counterparty_tax_id"], r["category"]) for r in rules] == [
        (f.others[0].tax_id, "lodging")
    ]
    # a new invoice from that supplier follows the rule at once
    write_invoice(tmp_path / "more" / "n.json", _received(f, 0, "*餐饮服务*餐费"))
    import_paths(ledger, [tmp_path / "more"])
    assert len(json.loads(run_cli("list", "--json", "--category", "lodging", env=env).stdout)) == 4
    bad = run_cli("classify", "correct", ids[0], "no_such", env=env)
    assert bad.returncode == 1 and "no_such" in bad.stderr
    assert audit.verify(ledger.engine).ok


def test_the_tenant_edits_its_table(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    f = InvoiceFactory(seed=22)
    _ledger_with(ledger, tmp_path, f, [_received(f, 2, "*印刷服务*宣传册")])
    env = {"FAPIAO_DB": db_url}
    assert json.loads(run_cli("list", "--json", env=env).stdout)[0]["category"] == "other"
    run_cli(
        "classify", "set", "marketing", "--zh", "市场推广", "--en", "marketing",
        "--short-name", "印刷服务", env=env, check=True,
    )  # fmt: skip
    table = json.loads(run_cli("classify", "table", "--json", env=env).stdout)
    assert {"code": "marketing", "zh": "市场推广"}.items() <= next(
        c for c in table if c["code"] == "marketing"
    ).items()
    assert json.loads(run_cli("list", "--json", env=env).stdout)[0]["category"] == "marketing"
    bad = run_cli("classify", "set", "Bad Code", "--zh", "x", env=env)
    assert bad.returncode == 1
    assert audit.verify(ledger.engine).ok
