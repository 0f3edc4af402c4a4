"""The scheduled jobs doing real work on SQLite and PostgreSQL: a nightly backup and a drill of it,
a backup whose target fails told by mail-less webhook, and 查验 of received invoices against the
sandbox platform."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fapiao.backup.tables import last_runs
from fapiao.ledger.store import Ledger
from fapiao.notify import deliver
from fapiao.schedule import runner
from fapiao_dev.sandbox.run import SandboxProcess
from fapiao_dev.synth import InvoiceFactory
from tests.notify_support import Hook, cli
from tests.test_ops import seeded

LATER = 10 * 86400  # run_due "ten days later": every job is due


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook().start()
    yield h
    h.close()


def test_a_scheduled_backup_and_drill_run_and_a_failed_target_is_told(
    ledger: Ledger, db_url: str, tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAPIAO_BACKUP_PASSPHRASE", "correct horse battery")
    seeded(ledger, tmp_path, n=3)
    good = tmp_path / "nas"
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    cli(db_url, "notify", "channel", "add", "ops", "--url", hook.url())
    cli(db_url, "notify", "rule", "add", "--event", "backup.failed", "--channel", "ops")
    cli(db_url, "schedule", "add", "backup", "--cron", "0 2 * * *", "--", "--to", str(good))
    cli(db_url, "schedule", "add", "backup", "--name", "offsite", "--every", "1d",
        "--", "--to", str(blocked / "x"))  # fmt: skip
    ran = runner.run_due(ledger.engine, now=time.time() + LATER)
    assert ran["backup"].ok, ran["backup"].summary
    assert not ran["offsite"].ok and str(blocked / "x") in ran["offsite"].summary
    assert last_runs(ledger.engine)["last_backup"]["target"] == str(good)
    for name in ("backup", "offsite"):
        assert cli(db_url, "schedule", "remove", name).exit_code == 0
    cli(db_url, "schedule", "add", "drill", "--every", "7d", "--", "--from", str(good))
    drilled = runner.run_due(ledger.engine, now=time.time() + LATER)
    assert list(drilled) == ["drill"] and drilled["drill"].ok, drilled["drill"].summary
    assert deliver.deliver_due(ledger.engine).sent == 1
    (post,) = hook.posts
    assert "备份失败" in post["title"] and str(blocked / "x") in post["message"]


def test_scheduled_verify_asks_the_platform_about_received_invoices(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    from fapiao.ingest import import_paths
    from fapiao.insight.verify import unverified
    from tests.conftest import write_invoice

    home = InvoiceFactory(seed=5)
    ledger.add_tenant(tax_id=home.home.tax_id, name=home.home.name)
    for n in range(3):
        write_invoice(tmp_path / "in" / f"{n}.json", home.invoice(issued=False))
    recorded = import_paths(ledger, [tmp_path / "in"])
    ids = [int(o.id) for o in recorded.imported]
    assert len(ids) == 3 and unverified(ledger.engine, ids) == ids
    sandbox = SandboxProcess(tmp_path / "platform").start()
    try:
        cli(db_url, "schedule", "add", "verify", "--every", "1h", "--", "--authority", sandbox.url)
        ran = runner.run_due(ledger.engine, now=time.time() + LATER)
    finally:
        sandbox.stop()
    assert ran["verify"].ok and ran["verify"].summary.startswith("查验 3")
    assert unverified(ledger.engine, ids) == []  # each has its answer now
