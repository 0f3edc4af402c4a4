"""`fapiao audit verify` finds any row edited, deleted, inserted or reordered behind the program's back."""

import pytest
from sqlalchemy import text

from fapiao.ingest import import_paths
from tests.conftest import run_cli, write_invoice


@pytest.fixture
def filled(ledger, factory, tmp_path):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(6):
        write_invoice(tmp_path / f"{n}.json", factory.invoice())
    import_paths(ledger, [tmp_path])
    return ledger


def tamper(ledger, *statements):
    """Change rows directly, as someone bypassing the program would (foreign keys switched off)."""
    if ledger.engine.dialect.name == "sqlite":
        raw = ledger.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA foreign_keys=OFF")
            for sql in statements:
                cur.execute(sql)
            cur.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()
        return
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for sql in statements:
            conn.execute(text(sql))


def last_seq(ledger):
    with ledger.engine.connect() as conn:
        return conn.execute(text("SELECT max(seq) FROM events")).scalar_one()


def verify(db_url):
    return run_cli("--db", db_url, "audit", "verify")


def test_untouched_chain_verifies(filled, db_url):
    proc = verify(db_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "events, 6 invoices" in proc.stdout


def test_edited_event(filled, db_url):
    tamper(
        filled, "UPDATE events SET payload = replace(payload, '\"file\"', '\"filf\"') WHERE seq = 3"
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "event 3 was edited" in proc.stderr


def test_deleted_event(filled, db_url):
    tamper(filled, "DELETE FROM events WHERE seq = 4")
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "expected 4, found 5" in proc.stderr


def test_deleted_last_event(filled, db_url):
    last = last_seq(filled)
    tamper(filled, f"DELETE FROM events WHERE seq = {last}")
    proc = verify(db_url)
    assert proc.returncode == 1
    assert f"the head records {last} events, the log has {last - 1}" in proc.stderr


def test_inserted_event(filled, db_url):
    last = last_seq(filled)
    tamper(
        filled,
        "INSERT INTO events (seq, ts, actor, tenant_id, action, entity, entity_id, payload, prev_hash, hash) "
        f"SELECT {last + 1}, ts, actor, tenant_id, action, entity, entity_id, payload, hash, hash "
        f"FROM events WHERE seq = {last}",
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert f"event {last + 1} was edited" in proc.stderr


def test_inserted_event_in_the_middle(filled, db_url):
    # make room by shifting later events up, then insert a forged event 3
    tamper(
        filled,
        "UPDATE events SET seq = seq + 100 WHERE seq >= 3",
        "UPDATE events SET seq = seq - 99 WHERE seq >= 103",
        "INSERT INTO events (seq, ts, actor, tenant_id, action, entity, entity_id, payload, prev_hash, hash) "
        "SELECT 3, ts, actor, tenant_id, action, entity, entity_id, payload, hash, hash FROM events WHERE seq = 2",
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "event 3" in proc.stderr


def test_reordered_events(filled, db_url):
    tamper(
        filled,
        "UPDATE events SET seq = 1000 WHERE seq = 3",
        "UPDATE events SET seq = 3 WHERE seq = 4",
        "UPDATE events SET seq = 4 WHERE seq = 1000",
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "event 3 does not follow" in proc.stderr


def test_edited_invoice_row(filled, db_url):
    tamper(
        filled, "UPDATE invoices SET total = total + 1 WHERE id = (SELECT min(id) FROM invoices)"
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "edited behind the program's back" in proc.stderr


def test_deleted_invoice_row(filled, db_url):
    tamper(filled, "DELETE FROM invoices WHERE id = (SELECT max(id) FROM invoices)")
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "deleted behind the program's back" in proc.stderr


def test_inserted_invoice_row(filled, db_url):
    cols = (
        "tenant_id, direction, kind, code, number, issue_date, seller_tax_id, seller_name, buyer_tax_id, "
        "buyer_name, amount, tax, total, status, original_key, source, authority_state, content_hash, "
        "fingerprint, doc, original_sha256, original_name, created_at, updated_at"
    )
    tamper(
        filled,
        f"INSERT INTO invoices (id, identity_key, {cols}) SELECT 999999, '99999999999999999999', {cols} "
        "FROM invoices WHERE id = (SELECT min(id) FROM invoices)",
    )
    proc = verify(db_url)
    assert proc.returncode == 1
    assert "invoice row 999999 has no event" in proc.stderr
