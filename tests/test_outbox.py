"""The outbox: entries written with their invoice in one transaction, drafts, claims and leases."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from sqlalchemy import func, select

from fapiao.codec import invoice_to_json
from fapiao.ingest import import_paths
from fapiao.ledger import audit, schema
from fapiao.model import Kind
from fapiao.sync import outbox
from fapiao.sync.drafts import record_drafts
from tests.conftest import write_invoice


def home(ledger, factory):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)


def entries(ledger):
    with ledger.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(outbox.ob).order_by(outbox.ob.c.id))]


def write_draft(path, factory, **changes):
    doc = invoice_to_json(factory.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL))
    doc["number"] = ""
    doc.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_queues_both_directions_in_the_same_transaction(ledger, factory, tmp_path):
    home(ledger, factory)
    for n in range(6):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice(issued=n % 2 == 0))
    import_paths(ledger, [tmp_path / "in"])
    rows = entries(ledger)
    assert len(rows) == 6
    assert {r["op"] for r in rows} == {"upload"} and {r["state"] for r in rows} == {"pending"}
    assert len({r["idem_key"] for r in rows}) == 6
    assert outbox.counts(ledger.engine)["queued"] == 6
    with ledger.engine.connect() as conn:
        actions = list(conn.scalars(select(schema.events.c.action)))
    assert actions.count("outbox.enqueued") == 1  # one batch, one transaction
    assert audit.verify(ledger.engine).ok


def test_a_failed_import_leaves_no_outbox_entry(ledger, factory, tmp_path):
    home(ledger, factory)
    inv = factory.invoice()
    write_invoice(tmp_path / "a.json", inv)
    import_paths(ledger, [tmp_path / "a.json"])
    import_paths(ledger, [tmp_path / "a.json"])  # a duplicate: nothing new to send
    assert len(entries(ledger)) == 1


def test_drafts_are_recorded_and_queued_for_issuing(ledger, factory, tmp_path):
    home(ledger, factory)
    good = [write_draft(tmp_path / f"d{n}.json", factory) for n in range(3)]
    bad = [
        write_draft(tmp_path / "numbered.json", factory, number="2" * 20),
        write_draft(tmp_path / "paper.json", factory, kind="vat_normal"),
        write_draft(
            tmp_path / "foreign.json", factory, seller={"name": "x", "tax_id": "91110108MA01ABCD2X"}
        ),
        write_draft(tmp_path / "sums.json", factory, total="1.00"),
    ]
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    outcomes = record_drafts(
        ledger, [*good, *bad, tmp_path / "broken.json", tmp_path / "gone.json"]
    )
    queued = [o for o in outcomes if o.id]
    assert len(queued) == 3
    rejected = {
        o.file.rsplit("/", 1)[-1]: [f.code for f in o.findings] for o in outcomes if not o.id
    }
    assert set(rejected) == {
        "numbered.json",
        "paper.json",
        "foreign.json",
        "sums.json",
        "broken.json",
        "gone.json",
    }
    assert "no_tenant" in rejected["foreign.json"] and "sum_mismatch" in rejected["sums.json"]
    assert {r["op"] for r in entries(ledger)} == {"issue"}
    with ledger.engine.connect() as conn:
        inv = schema.invoices
        drafts = conn.execute(select(inv.c.number, inv.c.identity_key, inv.c.source)).all()
        quarantined = conn.scalar(select(func.count()).select_from(schema.quarantine))
    assert all(d.number == "" and d.identity_key.startswith("draft-") for d in drafts)
    assert quarantined == 6
    assert audit.verify(ledger.engine).ok


def test_claims_do_not_overlap_and_expire(ledger, factory, tmp_path):
    home(ledger, factory)
    for n in range(10):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    import_paths(ledger, [tmp_path / "in"])
    now = time.time()
    a = outbox.claim(ledger, "host|1|a", limit=6, lease_s=30, now=now)
    b = outbox.claim(ledger, "host|1|b", limit=6, lease_s=30, now=now)
    assert len(a) == 6 and len(b) == 4
    assert not {e.id for e in a} & {e.id for e in b}
    assert outbox.claim(ledger, "host|1|c", limit=6, lease_s=30, now=now) == []
    later = outbox.claim(ledger, "host|1|c", limit=20, lease_s=30, now=now + 31)
    assert len(later) == 10  # the leases ran out
    assert audit.verify(ledger.engine).ok


def test_a_dead_workers_lease_is_taken_over_at_once(ledger, factory, tmp_path):
    home(ledger, factory)
    write_invoice(tmp_path / "a.json", factory.invoice())
    import_paths(ledger, [tmp_path / "a.json"])
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = f"{outbox.worker_id().split('|')[0]}|{proc.pid}|x"
    now = time.time()
    assert len(outbox.claim(ledger, dead, limit=5, lease_s=300, now=now)) == 1
    taken = outbox.claim(ledger, outbox.worker_id(), limit=5, lease_s=300, now=now)
    assert len(taken) == 1
    alive = outbox.worker_id()  # this process: alive, so its lease holds
    assert outbox.claim(ledger, alive, limit=5, lease_s=300, now=now + 1) == []


def test_idempotency_keys_are_unique_and_in_the_order_they_were_made():
    # in time order, so a batch's keys go to the end of the outbox's unique index (one page)
    # instead of a page each; unique by their random part within a millisecond
    keys = [outbox.new_key("upload") for _ in range(20_000)]
    assert len(set(keys)) == len(keys)
    assert all(k.startswith("upload-") and len(k) == len("upload-") + 32 for k in keys)
    time.sleep(0.002)
    later = outbox.new_key("upload")
    assert all(k < later for k in keys)
    by_millisecond = [k[:19] for k in keys]  # op, dash and the 12 hex digits of the time
    assert by_millisecond == sorted(by_millisecond)


def test_a_batch_of_keys_is_made_like_one_key_each():
    # the import draws a batch's random bits at once (`new_keys`): each key still its own
    keys = outbox.new_keys("upload", 5_000)
    assert len(set(keys)) == len(keys) == 5_000
    assert {len(k) for k in keys} == {len(outbox.new_key("upload"))}
    assert len({k[19:] for k in keys}) == 5_000  # the random parts differ, not only the stamps
    assert outbox.new_keys("upload", 0) == []
