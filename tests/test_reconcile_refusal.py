"""Reconcile refuses a platform list that cannot be right (another taxpayer's export, a file that is
not an export, an export of another period) before anything changes: exit 1, the reason as a
finding, no run recorded, no action opened or closed, no incident."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import run_cli
from tests.test_reconcile_cli import CSV, HOME
from tests.test_reconcile_cli import db as db

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
def with_actions(db: str) -> str:  # noqa: F811
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
