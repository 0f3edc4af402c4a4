"""The ledger on SQLite and PostgreSQL: import, duplicates, conflicts, quarantine, tenants, events."""

from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from fapiao.codec import invoice_to_json
from fapiao.ingest import import_paths
from fapiao.ledger import audit, queries, schema
from fapiao.ledger.db import open_engine
from fapiao.ledger.listing import Listing
from fapiao.ledger.store import Ledger
from fapiao_dev.synth import InvoiceFactory, make_company
from tests.conftest import write_invoice


def count(ledger, table):
    with ledger.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def home_ledger(ledger, factory):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    return ledger


def test_import_directions_and_roundtrip(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    issued = factory.invoice(issued=True)
    received = factory.invoice(issued=False)
    write_invoice(tmp_path / "in" / "a.json", issued)
    write_invoice(tmp_path / "in" / "b.json", received)
    summary = import_paths(ledger, [tmp_path / "in"])
    assert summary.counts == {"imported": 2}
    rows = {r["number"]: r for r in queries.list_invoices(ledger.engine, Listing())}
    assert rows[issued.number]["direction"] == "issued"
    assert rows[received.number]["direction"] == "received"
    stored = {
        k: v
        for k, v in rows[issued.number].items()
        if k not in ("id", "direction", "source", "authority_state")
    }
    assert stored == invoice_to_json(issued)
    assert rows[issued.number]["authority_state"] == "queued"  # in the outbox from the start


def test_original_file_kept_byte_for_byte(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    path = write_invoice(tmp_path / "a.json", factory.invoice())
    raw = path.read_bytes()
    (outcome,) = import_paths(ledger, [path]).imported
    found = queries.find_invoice(ledger.engine, outcome.id)
    assert queries.original_bytes(ledger.engine, found["original_file"]["sha256"]) == raw


def test_duplicate_and_conflict(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    inv = factory.invoice()
    write_invoice(tmp_path / "1" / "a.json", inv)
    import_paths(ledger, [tmp_path / "1"])
    write_invoice(tmp_path / "2" / "same.json", inv)
    write_invoice(
        tmp_path / "2" / "changed.json", replace(inv, remarks="另一个备注", issuer="某人")
    )
    summary = import_paths(ledger, [tmp_path / "2"])
    assert [o.file.endswith("same.json") for o in summary.duplicates] == [True]
    (conflict,) = summary.conflicts
    assert conflict.fields == ["issuer", "remarks"]
    assert count(ledger, schema.invoices) == 1
    assert count(ledger, schema.conflicts) == 1
    (stored,) = queries.list_invoices(ledger.engine, Listing())
    assert (stored["remarks"], stored["issuer"]) == (inv.remarks, inv.issuer)  # record unchanged


def test_duplicates_within_one_batch(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    inv = factory.invoice()
    write_invoice(tmp_path / "a.json", inv)
    write_invoice(tmp_path / "b.json", inv)
    summary = import_paths(ledger, [tmp_path])
    assert summary.counts == {"imported": 1, "duplicate": 1}


def test_near_duplicate_is_a_warning(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    inv = factory.invoice()
    twin = (
        replace(inv, number=inv.number[:-4] + "9999")
        if inv.kind.is_digital
        else replace(inv, number="99999999")
    )
    write_invoice(tmp_path / "a.json", inv)
    write_invoice(tmp_path / "b.json", twin)
    summary = import_paths(ledger, [tmp_path])
    assert summary.counts == {"imported": 2}
    assert [f.code for f in summary.imported[1].findings] == ["near_duplicate"]


def test_bad_input_quarantined_and_rest_imported(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    good = factory.invoice()
    bad = factory.invoice()
    write_invoice(tmp_path / "good.json", good)
    write_invoice(tmp_path / "sum.json", replace(bad, total=bad.total + 1))
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    summary = import_paths(ledger, [tmp_path])
    assert summary.counts == {"imported": 1, "rejected": 2}
    assert {o.file.rsplit("/", 1)[1]: o.findings[0].code for o in summary.rejected} == {
        "sum.json": "sum_mismatch",
        "broken.json": "unreadable",
    }
    assert count(ledger, schema.quarantine) == 2
    assert count(ledger, schema.invoices) == 1
    with ledger.engine.connect() as conn:
        kept = set(conn.scalars(select(schema.blobs.c.data).join(schema.quarantine)))
    assert b"{not json" in kept


def test_invoice_of_no_tenant_is_rejected(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    stranger = InvoiceFactory(seed=99).invoice()
    write_invoice(tmp_path / "x.json", stranger)
    summary = import_paths(ledger, [tmp_path])
    assert [f.code for f in summary.rejected[0].findings] == ["no_tenant"]


def test_both_parties_tenants_gives_two_records(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    inv = factory.invoice(issued=True)
    ledger.add_tenant(tax_id=inv.buyer.tax_id, name=inv.buyer.name)
    write_invoice(tmp_path / "a.json", inv)
    summary = import_paths(ledger, [tmp_path])
    assert summary.counts == {"imported": 2}
    directions = sorted(r["direction"] for r in queries.list_invoices(ledger.engine, Listing()))
    assert directions == ["issued", "received"]


def test_tenant_with_bad_tax_id_refused(ledger):
    tenant_id, findings = ledger.add_tenant(tax_id="91110108MA01ABCD2Z", name="某公司")
    assert tenant_id is None and findings[0].code == "tax_id_invalid"


def test_every_change_is_an_event_and_chain_verifies(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    for n in range(5):
        write_invoice(tmp_path / f"{n}.json", factory.invoice())
    (tmp_path / "junk.json").write_text("[1,", encoding="utf-8")
    import_paths(ledger, [tmp_path])
    with ledger.engine.connect() as conn:
        actions = list(conn.scalars(select(schema.events.c.action).order_by(schema.events.c.seq)))
    assert actions.count("invoice.imported") == 5
    assert actions.count("input.quarantined") == 1
    assert actions[0] == "tenant.added"
    report = audit.verify(ledger.engine)
    assert report.ok and report.events == len(actions) and report.invoices == 5


def test_filters(ledger, factory, tmp_path):
    home_ledger(ledger, factory)
    import datetime as dt

    invs = [factory.invoice(issued=n % 2 == 0, day=dt.date(2024, 10 + n % 2, 5)) for n in range(6)]
    for n, inv in enumerate(invs):
        write_invoice(tmp_path / f"{n}.json", inv)
    import_paths(ledger, [tmp_path])

    def numbers(**kw):
        return sorted(r["number"] for r in queries.list_invoices(ledger.engine, Listing(**kw)))

    assert numbers(period="2024-10") == sorted(i.number for i in invs if i.issue_date.month == 10)
    assert numbers(direction="issued") == sorted(i.number for i in invs[::2])
    cp = invs[0].buyer
    assert invs[0].number in numbers(counterparty=cp.tax_id)
    assert invs[0].number in numbers(counterparty=cp.name[2:6])
    assert numbers(authority_state="confirmed") == []
    assert len(numbers(tenant=factory.home.tax_id)) == 6


def test_reopening_does_not_migrate_again(empty_db_url):
    db_url = empty_db_url
    first = open_engine(db_url)
    Ledger(first).add_tenant(tax_id=make_company(__import__("random").Random(1)).tax_id, name="甲")
    first.dispose()
    again = open_engine(db_url)
    assert len(Ledger(again).tenant_rows()) == 1
    again.dispose()


def test_embedded_payload_text_is_canonical(factory):
    from fapiao.codec import canonical_bytes, canonical_text_with

    doc = invoice_to_json(factory.invoice())
    payload = {"row_hash": "ab", "file": "x/你.json", "findings": [{"b": 1, "a": 2}]}
    text = canonical_bytes(doc).decode()
    assert (
        canonical_text_with(payload, {"doc": text})
        == canonical_bytes(payload | {"doc": doc}).decode()
    )
    assert (
        canonical_text_with(payload, {"zz": text})
        == canonical_bytes(payload | {"zz": doc}).decode()
    )
    assert canonical_text_with({}, {"doc": text}) == canonical_bytes({"doc": doc}).decode()


def test_a_new_sqlite_ledger_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    """New ledgers get 32 KiB pages (an import writes fewer pages); one made before keeps its
    page, and either way the WAL is checkpointed every 64 MiB."""
    import sqlite3

    from fapiao.ledger import db as ledger_db

    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as made_before:  # SQLite's default page, as ledgers were made
        made_before.execute("CREATE TABLE earlier (x)")
    for path, page in ((tmp_path / "new.sqlite", ledger_db.PAGE_SIZE), (old, 4096)):
        engine = ledger_db.open_engine(str(path))
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == page
            pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
            assert pages * page == ledger_db.CHECKPOINT_BYTES
        engine.dispose()
    assert ledger_db.PAGE_SIZE == 32768
