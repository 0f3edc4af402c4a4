"""`audit verify` covers the rows an invoice's event describes beyond the invoice row: its line
items, its findings, and the original files kept by SHA-256; events written before line items
were hashed into them still verify."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import text

from fapiao.codec import canonical_bytes
from fapiao.ingest import import_paths
from fapiao.ledger import audit
from fapiao.ledger.store import WriteTx
from tests.conftest import run_cli, write_invoice
from tests.test_audit import tamper


@pytest.fixture
def filled(ledger, factory, tmp_path):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(5):
        write_invoice(tmp_path / f"{n}.json", factory.invoice())
    private = factory.invoice(issued=True)
    # a private buyer: imports with the tax_id_missing warning, kept as a finding row
    write_invoice(
        tmp_path / "private.json", replace(private, buyer=replace(private.buyer, tax_id=""))
    )
    summary = import_paths(ledger, [tmp_path])
    assert len(summary.imported) == 6
    return ledger


def scalar(ledger, sql):
    with ledger.engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def verify(db_url, *extra):
    return run_cli("--db", db_url, "audit", "verify", *extra)


def test_intact_ledger_verifies_with_details_and_originals(filled, db_url):
    assert scalar(filled, "SELECT count(*) FROM invoice_findings") >= 1
    proc = verify(db_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6 original files re-hashed" in proc.stdout
    report = audit.verify(filled.engine)
    assert report.ok and report.details == 6 and report.uncovered == 0 and report.blobs == 6


def test_line_item_amount_raised(filled, db_url):
    # the probe's case: ten million yuan added to one line changed the statistics
    tamper(
        filled,
        "UPDATE line_items SET amount = amount + 1000000000 "
        "WHERE invoice_id = (SELECT min(id) FROM invoices) AND line_no = 1",
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    first = scalar(filled, "SELECT min(id) FROM invoices")
    assert f"line items or findings of invoice {first} differ from its event" in proc.stderr


def test_line_item_deleted(filled, db_url):
    tamper(filled, "DELETE FROM line_items WHERE invoice_id = (SELECT max(id) FROM invoices)")
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "differ from its event" in proc.stderr


def test_line_item_inserted(filled, db_url):
    tamper(
        filled,
        "INSERT INTO line_items (invoice_id, line_no, name, spec, unit, quantity, unit_price, "
        "amount, tax_rate, tax) SELECT invoice_id, 99, name, spec, unit, quantity, unit_price, "
        "amount, tax_rate, tax FROM line_items WHERE invoice_id = (SELECT min(id) FROM invoices) "
        "AND line_no = 1",
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "differ from its event" in proc.stderr


def test_line_items_of_an_invoice_that_never_was(filled, db_url):
    tamper(
        filled,
        "INSERT INTO line_items (invoice_id, line_no, name, spec, unit, quantity, unit_price, "
        "amount, tax_rate, tax) VALUES (777777, 1, 'x', '', '', '1', '1', 100, '0.13', 13)",
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "line items or findings of invoice 777777 have no event" in proc.stderr


def test_finding_deleted(filled, db_url):
    tamper(filled, "DELETE FROM invoice_findings")
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "differ from its event" in proc.stderr


def test_finding_edited(filled, db_url):
    tamper(filled, "UPDATE invoice_findings SET severity = 'error'")
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "differ from its event" in proc.stderr


def test_finding_added(filled, db_url):
    tamper(
        filled,
        "INSERT INTO invoice_findings (invoice_id, code, field, severity, message, message_en) "
        "SELECT min(id), 'near_duplicate', 'number', 'warning', 'x', 'x' FROM invoices",
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "differ from its event" in proc.stderr


def _one_blob(ledger):
    return scalar(ledger, "SELECT original_sha256 FROM invoices ORDER BY id LIMIT 1")


def test_original_file_edited(filled, db_url):
    key = _one_blob(filled)
    doc = json.dumps({"forged": True}).encode().hex()
    literal = f"X'{doc}'" if filled.engine.dialect.name == "sqlite" else f"'\\x{doc}'::bytea"
    tamper(filled, f"UPDATE blobs SET data = {literal} WHERE sha256 = '{key}'")
    proc = verify(db_url)
    assert proc.returncode == 1
    assert f"original file {key[:16]}… does not match its SHA-256" in proc.stderr
    quick = verify(db_url, "--quick")  # the quick check skips re-hashing, and says so by omission
    assert quick.returncode == 0, quick.stderr
    assert "re-hashed" not in quick.stdout


def test_original_file_deleted(filled, db_url):
    key = _one_blob(filled)
    tamper(filled, f"DELETE FROM blobs WHERE sha256 = '{key}'")
    proc = verify(db_url)
    assert proc.returncode == 1
    assert f"the original file {key[:16]}… named in invoices is gone" in proc.stderr


def test_events_without_detail_hash_still_verify(ledger, factory, tmp_path, monkeypatch):
    """A ledger written before events carried `detail_hash` verifies; its line items are counted
    as not covered, and invoices imported afterwards are covered."""
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(3):
        write_invoice(tmp_path / "old" / f"{n}.json", factory.invoice())
    write_invoice(tmp_path / "new" / "0.json", factory.invoice())
    event_text = WriteTx.event_text  # every event's way in, its payload as canonical JSON

    def as_before(self, action, entity, entity_id, text, **kw):
        payload = {k: v for k, v in json.loads(text).items() if k != "detail_hash"}
        return event_text(self, action, entity, entity_id, canonical_bytes(payload).decode(), **kw)

    monkeypatch.setattr(WriteTx, "event_text", as_before)
    import_paths(ledger, [tmp_path / "old"])
    monkeypatch.setattr(WriteTx, "event_text", event_text)
    import_paths(ledger, [tmp_path / "new"])
    report = audit.verify(ledger.engine)
    assert report.ok, report.problems
    assert (report.uncovered, report.details) == (3, 1)
