"""The daily signed checkpoint leaves the building: the scheduled self-check signs the audit chain
and a webhook (an auditor's receiver on loopback) gets the checkpoint whole. Saved as a file, the
received copy verifies alone (`python -m fapiao.proof`) and against the ledger (`audit verify
--checkpoint`); after an insider cuts the chain's end, the received copy names the cut."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from fapiao.ledger.store import Ledger
from fapiao.notify import deliver
from fapiao.notify.events import render
from fapiao.proof import key_id
from fapiao.schedule import runner
from tests.notify_support import Hook, Mailbox, cli
from tests.test_audit import tamper
from tests.test_ops import seeded


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook().start()
    yield h
    h.close()


def _received(message: str) -> dict:
    (line,) = [ln for ln in message.splitlines() if ln.startswith("{")]
    return json.loads(line)


def _proof_cli(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fapiao.proof", str(path), *args], capture_output=True, text=True
    )


def test_the_daily_checkpoint_reaches_the_auditor_and_catches_a_later_cut(
    ledger: Ledger, db_url: str, tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAPIAO_SIGNING_KEY", str(tmp_path / "keys" / "signing.pem"))
    seeded(ledger, tmp_path, n=3)
    assert cli(db_url, "notify", "channel", "add", "auditor", "--url", hook.url()).exit_code == 0
    rule = cli(
        db_url, "notify", "rule", "add", "--event", "audit.checkpoint", "--channel", "auditor"
    )
    assert rule.exit_code == 0, rule.output
    assert cli(db_url, "schedule", "add", "check", "--every", "1d").exit_code == 0
    ran = runner.run_due(ledger.engine, now=time.time() + 2 * 86400)
    assert "check" in ran
    assert deliver.deliver_due(ledger.engine).sent == 1
    (post,) = hook.posts
    assert "审计链检查点" in post["title"]
    cp = _received(post["message"])
    assert f"共 {cp['seq']} 个事件" in post["message"] and cp["root"] in post["message"]
    assert key_id(cp["public_key"]) in post["message"] and cp["time"] in post["message"]
    kept = tmp_path / "received.json"  # the auditor's copy, out of the insider's reach
    kept.write_text(json.dumps(cp, ensure_ascii=False), encoding="utf-8")

    alone = _proof_cli(kept, f"--key={cp['public_key']}")
    assert alone.returncode == 0 and "signature holds" in alone.stdout, alone.stdout
    assert cli(db_url, "audit", "verify", "--checkpoint", str(kept)).exit_code == 0

    forged = tmp_path / "forged.json"  # the insider re-signs a shorter head with a key of his own
    forged.write_text(json.dumps({**cp, "seq": cp["seq"] - 1}), encoding="utf-8")
    assert _proof_cli(forged).returncode == 1

    with ledger.engine.connect() as conn:
        seq = conn.execute(text("SELECT max(seq) FROM events")).scalar_one()
        head = conn.execute(text(f"SELECT hash FROM events WHERE seq = {cp['seq'] - 1}")).scalar()
    tamper(  # cut back to before the checkpoint, head row and all: consistent in itself
        ledger,
        "DELETE FROM checkpoints",
        f"DELETE FROM events WHERE seq >= {cp['seq']} AND seq <= {seq}",
        f"UPDATE ledger_head SET seq = {cp['seq'] - 1}, hash = '{head}'",
    )
    assert cli(db_url, "audit", "verify").exit_code == 0
    caught = cli(db_url, "audit", "verify", "--checkpoint", str(kept))
    assert caught.exit_code == 1
    assert "the end was cut" in caught.output and str(kept) in caught.output


def test_the_message_carries_the_checkpoint_json_whole() -> None:
    from fapiao.ops.daily import checkpoint_facts

    doc = {
        "format": "fapiao-checkpoint/1",
        "seq": 12,
        "head": "ab" * 32,
        "root": "cd" * 32,
        "time": "2026-12-04T02:00:00.000000",
        "ledger_id": "ef" * 32,
        "public_key": "A" * 43 + "=",
        "signature": "sig",
    }
    msg = render("audit.checkpoint", checkpoint_facts(doc))
    assert msg.body.splitlines()[0].startswith("审计链检查点：共 12 个事件")
    assert _received(msg.body) == doc


def test_a_mailbox_receives_the_checkpoint(
    ledger: Ledger, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fapiao.ops.daily import run_once

    monkeypatch.setenv("FAPIAO_SIGNING_KEY", str(tmp_path / "k.pem"))
    box = Mailbox()
    try:
        cli(db_url, "notify", "channel", "add", "audit-mail", "--url", box.url("audit@example.com"))
        cli(
            db_url,
            "notify",
            "rule",
            "add",
            "--event",
            "audit.checkpoint",
            "--channel",
            "audit-mail",
        )
        run_once(db_url)  # what `serve` runs daily
        assert deliver.deliver_due(ledger.engine).sent == 1
        cp = _received(box.text())
        kept = tmp_path / "mail.json"
        kept.write_text(json.dumps(cp), encoding="utf-8")
        assert _proof_cli(kept).returncode == 0
        assert cli(db_url, "audit", "verify", "--checkpoint", str(kept)).exit_code == 0
    finally:
        box.close()


def test_the_checkpoint_job_signs_and_sends_without_the_self_check(
    ledger: Ledger, db_url: str, tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAPIAO_SIGNING_KEY", str(tmp_path / "k.pem"))
    cli(db_url, "notify", "channel", "add", "auditor", "--url", hook.url())
    cli(db_url, "notify", "rule", "add", "--event", "audit.checkpoint", "--channel", "auditor")
    assert cli(db_url, "schedule", "add", "checkpoint", "--cron", "5 0 * * *").exit_code == 0
    ran = runner.run_due(ledger.engine, now=time.time() + 2 * 86400)
    assert ran["checkpoint"].ok and ran["checkpoint"].summary.startswith("checkpoint seq ")
    assert deliver.deliver_due(ledger.engine).sent == 1
    cp = _received(hook.posts[0]["message"])
    with ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ops_check_runs")).scalar_one() == 0
        actor = conn.execute(
            text("SELECT actor FROM events WHERE action = 'audit.checkpoint'")
        ).scalar_one()
    assert actor == "schedule" and cp["seq"] >= 1
