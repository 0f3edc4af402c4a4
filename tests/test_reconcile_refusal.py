"""Reconcile refuses a platform list that cannot be right (another taxpayer's export, a file that is
not an export, an export of another period) before anything changes: exit 1, the reason as a
finding, no run recorded, no action opened or closed, no incident."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import run_cli
from tests.test_reconcile_cli import CSV, HOME, db
from tests.test_web_support import sqlite_site

__all__ = ["db", "sqlite_site"]  # fixtures

OTHER = "91320594769869645C"  # a valid USCC of another company
COUNTED = ("reconcile_runs", "reconcile_actions", "contingency_incidents")


def counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED
            }
    finally:
        engine.dispose()


def reconcile(url: str, source: Path, *args: str):
    return run_cli("--db", url, "reconcile", "--authority", str(source), *args)


@pytest.fixture
def with_actions(db: str) -> str:
    """A first, proper run has opened actions that a wrong file must not close."""
    assert reconcile(db, CSV).returncode == 1
    return db


def test_another_taxpayers_export_is_refused(with_actions: str, tmp_path: Path) -> None:
    before = counts(with_actions)
    other = tmp_path / "另一家企业-全量发票查询.csv"
    other.write_text(CSV.read_text(encoding="utf-8-sig").replace(HOME, OTHER), encoding="utf-8-sig")
    proc = reconcile(with_actions, other)
    assert proc.returncode == 1
    assert "export_other_taxpayer" in proc.stderr and OTHER in proc.stderr
    assert "不是本企业" in proc.stderr and "nothing reconciled" in proc.stderr
    assert counts(with_actions) == before
    listed = run_cli("--db", with_actions, "actions", "list", "--json", check=True).stdout
    assert '"vanished"' not in listed  # no real finding was closed by the wrong file


def test_a_file_that_is_not_an_export_is_refused(with_actions: str, tmp_path: Path) -> None:
    before = counts(with_actions)
    junk = tmp_path / "notes.csv"
    junk.write_text("日期,说明\n2025-01-01,午餐\n", encoding="utf-8")
    proc = reconcile(with_actions, junk)
    assert proc.returncode == 1 and "export_unusable" in proc.stderr
    assert counts(with_actions) == before


def test_an_export_of_another_period_is_refused(with_actions: str) -> None:
    before = counts(with_actions)
    proc = reconcile(with_actions, CSV, "--period", "2023-05")
    assert proc.returncode == 1
    assert "export_period_mismatch" in proc.stderr and "2023-05" in proc.stderr
    assert counts(with_actions) == before


def test_rows_short_of_the_period_warn_but_reconcile(with_actions: str) -> None:
    before = counts(with_actions)
    proc = reconcile(with_actions, CSV, "--period", "2025")
    assert proc.returncode in (0, 1)
    assert "export_period_partial" in proc.stderr
    assert counts(with_actions)["reconcile_runs"] == before["reconcile_runs"] + 1


def test_the_web_refuses_another_taxpayers_export_and_records_nothing(sqlite_site) -> None:
    from dataclasses import replace

    from fapiao.authority.export_file import write_export
    from fapiao.authority.records import record_from_invoice
    from fapiao.model import Party

    s = sqlite_site
    url = s.ledger.engine.url.render_as_string(hide_password=False)
    before = counts(url)
    stranger = Party("另一家公司", OTHER)
    invoices = [s.factory_b.invoice() for _ in range(5)]  # tenant B's business, sold to a stranger
    records = [replace(record_from_invoice(i), buyer=stranger) for i in invoices]
    b = s.browser()
    b.login(s.user("accountant", "a"))
    page = b.post(
        "/reconcile",
        data={"tenant": str(s.tenant_a), "csrf": b.csrf("/reconcile")},
        files={"export": ("export.xlsx", write_export(records), "application/octet-stream")},
    )
    assert page.status_code == 422
    assert "不是本企业" in page.text or "export_other_taxpayer" in page.text
    assert counts(url) == before
