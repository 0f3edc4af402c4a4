"""The command line for a person: `list` keeps every number whole at 80 columns, `show` reads like
the invoice, codes are shown in Chinese, and a filter value the ledger never holds is refused."""

from __future__ import annotations

import json

import pytest
from rich.cells import cell_len

from fapiao.ingest import import_paths
from tests.conftest import run_cli, write_invoice


@pytest.fixture
def filled(ledger, factory, tmp_path, db_url):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    invoices = [factory.invoice() for _ in range(6)]
    for n, inv in enumerate(invoices):
        write_invoice(tmp_path / "in" / f"{n}.json", inv)
    import_paths(ledger, [tmp_path / "in"])
    return invoices


def test_list_at_80_columns_keeps_numbers_whole(filled, db_url):
    proc = run_cli("--db", db_url, "list", env={"COLUMNS": "80"}, check=True)
    lines = proc.stdout.splitlines()
    assert lines and max(cell_len(line) for line in lines) <= 80
    for inv in filled:
        assert inv.identity.key in proc.stdout
    assert "normal" not in proc.stdout and any(w in proc.stdout for w in ("正常", "红字", "作废"))


def test_show_is_a_card_and_json_stays_data(filled, db_url):
    inv = max(filled, key=lambda i: i.total)
    proc = run_cli("--db", db_url, "show", inv.identity.key, env={"COLUMNS": "100"}, check=True)
    text = proc.stdout
    assert "购买方" in text and "销售方" in text and inv.seller.name in text
    whole, fen = divmod(abs(inv.total), 100)
    assert f"{whole:,}.{fen:02d}" in text  # amounts with thousands separators
    assert "历史 history" in text and "invoice.imported" in text
    doc = json.loads(run_cli("--db", db_url, "show", inv.identity.key, "--json").stdout)
    assert doc["number"] == inv.number


@pytest.mark.parametrize(
    "option", ["--status", "--direction", "--kind", "--authority-state", "--verification"]
)
def test_unknown_filter_values_are_refused(filled, db_url, option):
    proc = run_cli("--db", db_url, "list", option, "nonsense")
    assert proc.returncode == 2
    assert "unknown value 'nonsense'" in proc.stderr and "可用" in proc.stderr
