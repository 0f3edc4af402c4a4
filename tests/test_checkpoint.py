"""Signed checkpoints catch what `audit verify` alone cannot (the newest events cut away, the chain
rewritten consistently), and an inclusion proof is checked without the database."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from fapiao import proof
from fapiao.ingest import import_paths
from fapiao.ledger.store import event_hash
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli, write_invoice
from tests.test_audit import tamper


@pytest.fixture
def env(tmp_path):
    return {"FAPIAO_SIGNING_KEY": str(tmp_path / "keys" / "signing.pem")}


@pytest.fixture
def filled(ledger, factory, tmp_path):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(5):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    import_paths(ledger, [tmp_path / "in"])
    return ledger


def _checkpoint(db_url, env, out):
    run_cli("--db", db_url, "audit", "checkpoint", "--out", str(out), env=env, check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def _verify(db_url, env, *cps):
    args = [a for cp in cps for a in ("--checkpoint", str(cp))]
    return run_cli("--db", db_url, "audit", "verify", *args, env=env)


def test_key_is_created_once_outside_the_database(filled, db_url, env, tmp_path):
    first = _checkpoint(db_url, env, tmp_path / "a.json")
    key_file = Path(env["FAPIAO_SIGNING_KEY"])
    assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0
    second = _checkpoint(db_url, env, tmp_path / "b.json")
    assert first["public_key"] == second["public_key"]
    assert second["seq"] == first["seq"] + 1  # the first checkpoint is itself an event
    assert proof.signature_ok(second)


def test_intact_chain_holds_its_checkpoint(filled, db_url, env, tmp_path):
    cp = tmp_path / "cp.json"
    _checkpoint(db_url, env, cp)
    write_invoice(tmp_path / "more" / "x.json", InvoiceFactory(seed=43).invoice())
    import_paths(filled, [tmp_path / "more"])  # the chain grows past the checkpoint
    proc = _verify(db_url, env, cp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checkpoint holds" in proc.stdout


def test_cut_chain_passes_plain_verify_but_not_the_checkpoint(filled, db_url, env, tmp_path):
    cp = tmp_path / "cp.json"
    _checkpoint(db_url, env, cp)
    with filled.engine.connect() as conn:
        seq, victim = conn.execute(
            text("SELECT seq, entity_id FROM events WHERE entity = 'invoice' ORDER BY seq DESC")
        ).first()
        head = conn.execute(text(f"SELECT hash FROM events WHERE seq = {seq - 1}")).scalar_one()
    # the insider removes the newest invoice with its events, and moves the head back
    tamper(
        filled,
        f"DELETE FROM line_items WHERE invoice_id = {victim}",
        f"DELETE FROM invoices WHERE id = {victim}",
        "DELETE FROM checkpoints",
        f"DELETE FROM events WHERE seq >= {seq}",
        f"UPDATE ledger_head SET seq = {seq - 1}, hash = '{head}'",
    )
    plain = _verify(db_url, env)
    assert plain.returncode == 0, plain.stderr  # the shortened chain is consistent in itself
    proc = _verify(db_url, env, cp)
    assert proc.returncode == 1
    assert str(cp) in proc.stderr and "the end was cut" in proc.stderr


def test_rewritten_chain_fails_the_checkpoint(filled, db_url, env, tmp_path):
    cp = tmp_path / "cp.json"
    _checkpoint(db_url, env, cp)
    _rewrite_file_names(filled)
    assert _verify(db_url, env).returncode == 0  # rewritten consistently, head row and all
    proc = _verify(db_url, env, cp)
    assert proc.returncode == 1
    assert "rewritten or forked" in proc.stderr


def _rewrite_file_names(ledger):
    """An insider edits what events say about the files, recomputing every later hash and the head
    (event 1, whose hash names the ledger, is left alone)."""
    with ledger.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM events ORDER BY seq"))]
    prev = rows[0]["hash"]
    with ledger.engine.begin() as conn:
        for row in rows[1:]:
            payload = row["payload"].replace('"file":"', '"file":"X')
            fields = [row["seq"], row["ts"], row["actor"], row["tenant_id"], row["action"]]
            fields += [row["entity"], row["entity_id"], payload]
            new = event_hash(prev, fields)
            conn.execute(
                text("UPDATE events SET payload = :p, prev_hash = :prev, hash = :h WHERE seq = :s"),
                {"p": payload, "prev": prev, "h": new, "s": row["seq"]},
            )
            prev = new
        conn.execute(text("UPDATE ledger_head SET hash = :h"), {"h": prev})


def test_forged_checkpoint_is_refused(filled, db_url, env, tmp_path):
    cp = tmp_path / "cp.json"
    doc = _checkpoint(db_url, env, cp)
    doc["seq"] = doc["seq"] - 1  # claims less than was signed
    cp.write_text(json.dumps(doc), encoding="utf-8")
    proc = _verify(db_url, env, cp)
    assert proc.returncode == 1
    assert "signature fails" in proc.stderr


def test_inclusion_proof_checked_without_the_database(filled, db_url, env, tmp_path):
    with filled.engine.connect() as conn:
        key = conn.execute(text("SELECT identity_key FROM invoices ORDER BY id")).first()[0]
    cp = tmp_path / "cp.json"
    doc = _checkpoint(db_url, env, cp)
    out = tmp_path / "proof.json"
    run_cli("--db", db_url, "audit", "proof", key, "--out", str(out), env=env, check=True)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["checkpoint"]["root"] == doc["root"]
    assert all(len(e["path"]) <= doc["seq"].bit_length() for e in data["events"])
    # the verifier alone, copied away from the project, run without it on the path
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(proof.__file__, alone / "verify.py")
    ok = _run_alone(alone, out)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert key in ok.stdout
    pinned = _run_alone(alone, out, f"--key={doc['public_key']}")
    assert pinned.returncode == 0
    other = _run_alone(alone, out, "--key=" + "A" * 43 + "=")
    assert other.returncode == 1
    data["events"][0]["payload"] = data["events"][0]["payload"].replace('"total":"', '"total":"9')
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tampered = _run_alone(alone, bad)
    assert tampered.returncode == 1 and "do not hash" in tampered.stdout


def _run_alone(folder, path, *args):
    return subprocess.run(
        [sys.executable, "-I", str(folder / "verify.py"), str(path), *args],
        capture_output=True,
        text=True,
        cwd=folder,
    )


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 31, 64])
def test_every_leaf_climbs_to_the_root_and_no_other(size):
    hashes = [f"{n:064x}" for n in range(1, size + 1)]
    root = proof.tree_root(hashes)
    leaves = [proof.leaf_hash(h) for h in hashes]
    for index, h in enumerate(hashes):
        path = proof.audit_path(leaves, index)
        assert proof.included(h, index, size, path, root)
        assert not proof.included(f"{size + 9:064x}", index, size, path, root)
        if size > 1:
            assert not proof.included(h, (index + 1) % size, size, path, root)


def test_newest_checkpoint_is_named_on_printouts_and_backup_manifests(
    filled, db_url, env, tmp_path
):
    from fapiao.backup.create import create_backup
    from fapiao.backup.repo import Repository
    from fapiao.backup.targets import parse_target
    from tests.test_print import flat, pdf_text

    doc = _checkpoint(db_url, env, tmp_path / "cp.json")
    with filled.engine.connect() as conn:
        key = conn.execute(text("SELECT identity_key FROM invoices ORDER BY id")).first()[0]
    for target in (key, "direction=issued"):
        pdf = tmp_path / "out.pdf"
        run_cli("--db", db_url, "print", target, "--out", str(pdf), env=env, check=True)
        printed = flat(pdf_text(pdf.read_bytes()))
        assert f"checkpointseq{doc['seq']}" in printed and doc["head"][:16] in printed
    (result,) = create_backup(filled.engine, [str(tmp_path / "bk")], "pass phrase 1")
    repo = Repository.open(parse_target(str(tmp_path / "bk")), "pass phrase 1")
    manifest = repo.load_manifest(result.snapshot_id)
    assert manifest["checkpoint"]["head"] == doc["head"]
    assert manifest["checkpoint"]["signature"] == doc["signature"]


def test_serve_signs_a_checkpoint_with_its_daily_check(filled, db_url, env, tmp_path):
    import os
    import signal
    import subprocess
    import time

    from tests.conftest import FAPIAO
    from tests.test_serve_sync import free_port

    server = subprocess.Popen(
        [FAPIAO, "--db", db_url, "serve", "--port", str(free_port())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env, "FAPIAO_CHECK_FIRST_DELAY_S": "0"},
    )
    try:
        deadline = time.monotonic() + 60
        found = 0
        while time.monotonic() < deadline and not found:
            time.sleep(1)
            with filled.engine.connect() as conn:
                found = conn.execute(text("SELECT count(*) FROM checkpoints")).scalar_one()
        assert found == 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    assert Path(env["FAPIAO_SIGNING_KEY"]).exists()
    assert _verify(db_url, env).returncode == 0


def test_reconcile_reports_and_the_statement_name_the_checkpoint(filled, db_url, env, tmp_path):
    import json as _json

    from tests.test_print import flat, pdf_text

    doc = _checkpoint(db_url, env, tmp_path / "cp.json")
    with filled.engine.connect() as conn:
        tax_id = conn.execute(text("SELECT tax_id FROM tenants")).scalar_one()
    export = tmp_path / "export.csv"  # the platform lists nothing of ours: every invoice missing
    export.write_text(
        "发票代码,发票号码,数电发票号码,销方识别号,销方名称,购方识别号,购买方名称,开票日期,金额,税额,价税合计\n"
        f",,25110000000000000001,91320594769869645C,乙,{tax_id},甲,2024-01-02,1.00,0.00,1.00\n",
        encoding="utf-8",
    )
    for suffix in ("html", "json"):
        out = tmp_path / f"report.{suffix}"
        run_cli("--db", db_url, "reconcile", "--authority", str(export), "--out", str(out), env=env)
        body = out.read_text(encoding="utf-8")
        assert doc["head"][:16] in body, suffix
    assert _json.loads((tmp_path / "report.json").read_text())["checkpoint"].startswith(
        "审计链检查点"
    )
    opened = run_cli("--db", db_url, "incident", "open", "--title", "平台故障", "--json",
                     env=env, check=True)  # fmt: skip
    incident = _json.loads(opened.stdout)["id"]
    pdf = tmp_path / "statement.pdf"
    run_cli("--db", db_url, "incident", "statement", str(incident), "--out", str(pdf), env=env,
            check=True)  # fmt: skip
    assert doc["head"][:16] in flat(pdf_text(pdf.read_bytes()))
