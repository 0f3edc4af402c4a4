"""The sync worker against a real sandbox: confirmation by read-back, missing and re-sent, offline
mode and draining, parking, crash-safe issuing; and the CLI around it."""

from __future__ import annotations

import json
import socket
import time

import httpx

from fapiao.authority.http import HttpConnector
from fapiao.codec import invoice_from_json, invoice_to_json
from fapiao.ingest import import_paths
from fapiao.ledger import audit, queries
from fapiao.ledger.db import open_engine
from fapiao.ledger.listing import Listing
from fapiao.model import Kind
from fapiao.sync import outbox
from fapiao.sync.drafts import record_drafts
from fapiao.sync.status import sync_status
from fapiao.sync.worker import Settings, Worker
from fapiao_dev.sandbox.run import SandboxThread
from tests.conftest import run_cli, write_invoice
from tests.test_outbox import entries, write_draft

FAST = Settings(
    confirm_after_s=0.0,
    missing_after_s=0.3,
    backoff_base_s=0.05,
    backoff_cap_s=0.2,
    breaker_threshold=2,
    breaker_cooldown_s=0.1,
    breaker_cooldown_cap_s=0.3,
    idle_s=0.05,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(ledger, factory, tmp_path, *, imported=8, drafts=4):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(imported):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice(issued=n % 2 == 0))
    if imported:
        import_paths(ledger, [tmp_path / "in"])
    paths = [write_draft(tmp_path / "drafts" / f"{n}.json", factory) for n in range(drafts)]
    record_drafts(ledger, paths)


def states(ledger):
    return {r["authority_state"] for r in queries.list_invoices(ledger.engine, Listing())}


def put(sb, plan):
    httpx.put(sb.url + "/api/v1/faults", json=plan).raise_for_status()


def stats(sb):
    return httpx.get(sb.url + "/api/v1/admin/stats").json()


def test_everything_is_confirmed_and_drafts_get_their_numbers(ledger, factory, tmp_path):
    seed(ledger, factory, tmp_path)
    with SandboxThread(tmp_path / "sb") as sb, HttpConnector(sb.url) as conn:
        Worker(ledger, conn, FAST).run(once=True, max_seconds=30)
        assert stats(sb)["invoices"] == 12 and stats(sb)["numbers_assigned"] == 4
    rows = list(queries.list_invoices(ledger.engine, Listing()))
    assert {r["authority_state"] for r in rows} == {"confirmed"}
    assert all(len(r["number"]) in (8, 20) and r["number"] for r in rows)
    assert sync_status(ledger.engine)["drained"]
    assert audit.verify(ledger.engine).ok


def test_accepted_but_absent_becomes_missing_and_is_sent_again(ledger, factory, tmp_path):
    seed(ledger, factory, tmp_path, imported=4, drafts=2)
    with SandboxThread(tmp_path / "sb") as sb, HttpConnector(sb.url) as conn:
        put(sb, {"drop_after_ack_rate": 1.0})
        worker = Worker(ledger, conn, FAST)
        worker.send_round()
        assert states(ledger) == {"uploaded"}  # the platform said 201 …
        time.sleep(0.35)
        worker.readback_round()
        assert states(ledger) == {"missing"}  # … and kept nothing
        put(sb, {})
        worker.run(once=True, max_seconds=30)
        assert states(ledger) == {"confirmed"}
        assert stats(sb)["invoices"] == 6
        assert {e["generation"] for e in entries(ledger)} == {1}
    issued = next(
        r for r in queries.list_invoices(ledger.engine, Listing()) if r["source"] == "draft"
    )
    history = outbox.history(ledger.engine, int(issued["id"]))
    assert [h["authority_state"] for h in history if "authority_state" in h] == [
        "uploaded",
        "missing",
        "uploaded",
        "confirmed",
    ]
    assert audit.verify(ledger.engine).ok


def test_offline_while_the_platform_is_down_then_drains(ledger, factory, tmp_path):
    seed(ledger, factory, tmp_path, imported=5, drafts=3)
    port = free_port()
    with HttpConnector(f"http://127.0.0.1:{port}", timeout=1, connect_timeout=0.5) as conn:
        Worker(ledger, conn, FAST).run(once=True, max_seconds=10)
        status = sync_status(ledger.engine)
        assert status["offline"] and status["breaker"]["state"] == "open"
        assert status["counts"]["queued"] == 8 and status["counts"]["outbox_pending"] == 8
        seed_more = factory.invoice()  # work keeps being recorded while offline
        write_invoice(tmp_path / "late.json", seed_more)
        import_paths(ledger, [tmp_path / "late.json"])
        with SandboxThread(tmp_path / "sb", port=port) as sb:
            time.sleep(0.35)  # the probe is due after the cooldown
            Worker(ledger, conn, FAST).run(once=True, max_seconds=30)
            assert stats(sb)["invoices"] == 9
    status = sync_status(ledger.engine)
    assert not status["offline"] and status["counts"]["confirmed"] == 9
    assert audit.verify(ledger.engine).ok


def test_a_refused_invoice_is_parked_with_the_reason(ledger, factory, tmp_path):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    mine = factory.invoice(kind=Kind.DIGITAL_NORMAL)
    write_invoice(tmp_path / "a.json", mine)
    import_paths(ledger, [tmp_path / "a.json"])
    with SandboxThread(tmp_path / "sb") as sb, HttpConnector(sb.url) as conn:
        other = invoice_to_json(factory.invoice(kind=Kind.DIGITAL_NORMAL))
        other["number"] = mine.number
        conn.upload(invoice_from_json(other)[0], "theirs")  # the platform holds another invoice
        Worker(ledger, conn, FAST).run(once=True, max_seconds=10)
    (entry,) = entries(ledger)
    assert entry["state"] == "parked" and "409" in entry["last_error"]
    assert states(ledger) == {"mismatch"}
    assert sync_status(ledger.engine)["parked"][0]["identity_key"] == mine.number


def test_a_change_at_the_platform_before_read_back_is_a_mismatch(ledger, factory, tmp_path):
    seed(ledger, factory, tmp_path, imported=0, drafts=1)
    with SandboxThread(tmp_path / "sb") as sb, HttpConnector(sb.url) as conn:
        worker = Worker(ledger, conn, FAST)
        worker.send_round()
        (row,) = queries.list_invoices(ledger.engine, Listing())
        httpx.post(
            f"{sb.url}/api/v1/admin/invoices/{row['number']}/status", json={"status": "red"}
        ).raise_for_status()
        worker.readback_round()
    assert states(ledger) == {"mismatch"}
    assert audit.verify(ledger.engine).ok


def test_an_issue_whose_answer_was_lost_is_recorded_with_the_first_number(
    ledger, factory, tmp_path
):
    seed(ledger, factory, tmp_path, imported=0, drafts=1)
    (entry,) = entries(ledger)
    (row,) = queries.list_invoices(ledger.engine, Listing())
    draft = invoice_from_json({k: v for k, v in row.items() if k not in ("id",)})[0]
    with SandboxThread(tmp_path / "sb") as sb, HttpConnector(sb.url) as conn:
        first = conn.issue(draft, entry["idem_key"])  # sent, then the worker died unrecorded
        Worker(ledger, conn, FAST).run(once=True, max_seconds=10)
        assert stats(sb)["numbers_assigned"] == 1 and stats(sb)["invoices"] == 1
    (row,) = queries.list_invoices(ledger.engine, Listing())
    assert row["number"] == first.number and row["authority_state"] == "confirmed"


def test_cli_issue_sync_show_and_status(factory, tmp_path):
    db = str(tmp_path / "ledger.sqlite")  # the worker paths run on PostgreSQL above
    run_cli(
        "--db",
        db,
        "tenant",
        "add",
        "--tax-id",
        factory.home.tax_id,
        "--name",
        factory.home.name,
        check=True,
    )
    drafts = [str(write_draft(tmp_path / f"d{n}.json", factory)) for n in range(3)]
    queued = json.loads(run_cli("--db", db, "issue", *drafts, "--json", check=True).stdout)
    assert len(queued["queued"]) == 3 and queued["rejected"] == []
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    down = run_cli("--db", db, "sync", "--authority", url, "--once", "--timeout", "1", "--json")
    assert down.returncode == 1
    report = json.loads(down.stdout)
    assert report["offline"] and report["counts"]["outbox_pending"] == 3
    with SandboxThread(tmp_path / "sb", port=port):
        time.sleep(1.0)  # the breaker's first cooldown
        up = run_cli("--db", db, "sync", "--authority", url, "--once", "--json")
        assert up.returncode == 0, up.stdout + up.stderr
    after = json.loads(up.stdout)
    assert after["counts"]["confirmed"] == 3 and after["offline"] is False and after["drained"]
    ref = queued["queued"][0]["id"]
    shown = json.loads(run_cli("--db", db, "show", ref, "--json", check=True).stdout)
    assert [h.get("authority_state") for h in shown["authority_history"][:2]] == [
        "uploaded",
        "confirmed",
    ]
    text = run_cli("--db", db, "sync", "--status").stdout
    assert "online" in text and "confirmed 3" in text
    assert run_cli("--db", db, "sync", "--once").returncode == 2  # no authority given
    assert audit.verify(open_engine(db)).ok
