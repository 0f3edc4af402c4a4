"""Remedies: findings become actions; re-running keeps, closes and reopens them; each remedy does its
part through the ledger's write path, and the audit chain stays intact."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, func, select

from fapiao.ledger import audit, schema
from fapiao.ledger.store import Ledger
from fapiao.model import Status
from fapiao.reconcile import remedies
from fapiao.reconcile.engine import reconcile
from fapiao_dev.synth import InvoiceFactory
from tests import test_reconcile_engine as tables
from tests.test_reconcile_engine import auth, authority_list, scope_of

world = tables.world  # the same small table of invoices

TODAY = dt.date(2024, 7, 5)


def run(ledger: Ledger, factory: InvoiceFactory, records: list) -> tuple:
    result = reconcile(ledger.engine, scope_of(ledger, factory, "2024-06"), records)
    summary = remedies.record_run(ledger, result, authority="test", today=TODAY)
    return result, summary


def by_number(ledger: Ledger) -> dict[tuple[str, str], dict]:
    return {(a["category"], a["number"]): a for a in remedies.list_actions(ledger.engine)}


def test_rerun_keeps_closes_and_reopens(
    ledger: Ledger, factory: InvoiceFactory, world: dict
) -> None:
    inv = world
    result, first = run(ledger, factory, authority_list(inv))
    assert len(first.opened) == result.findings == 9
    acts = by_number(ledger)
    only = acts[("missing_at_authority", inv["only_ledger"].number)]
    assert only["state"] == "open" and only["remedy"] == "reupload"
    assert only["due_date"] == "2024-07-20"
    assert acts[("missing_in_ledger", inv["only_authority"].number)]["remedy"] == "take_authority"
    cent = acts[("mismatched", inv["cent_off"].number)]
    assert (
        cent["detail"]["fields"]["total"]["authority"]
        != cent["detail"]["fields"]["total"]["ledger"]
    )

    remedies.set_action(ledger, int(only["id"]), state="in_progress", owner="李娜", note="已致电")
    # the authority now has only_ledger; cent_off still differs
    fixed = [*authority_list(inv), auth(inv["only_ledger"])]
    _, second = run(ledger, factory, fixed)
    assert second.opened == [] and len(second.closed) == 1 and len(second.kept) == 8
    acts = by_number(ledger)
    gone = acts[("missing_at_authority", inv["only_ledger"].number)]
    assert (gone["state"], gone["resolution"], gone["owner"]) == ("resolved", "vanished", "李娜")
    assert "已致电" in gone["notes"]

    waived = acts[("duplicates_at_authority", inv["twice"].number)]
    remedies.set_action(ledger, int(waived["id"]), state="waived", note="平台已知")
    _, third = run(ledger, factory, authority_list(inv))  # only_ledger missing again
    assert third.reopened == [int(gone["id"])]
    acts = by_number(ledger)
    assert acts[("missing_at_authority", inv["only_ledger"].number)]["state"] == "open"
    assert acts[("duplicates_at_authority", inv["twice"].number)]["state"] == "waived"

    history = remedies.get_action(ledger.engine, int(gone["id"]))["history"]
    assert [h["action"] for h in history] == [
        "reconcile.action_opened",
        "reconcile.action_updated",
        "reconcile.action_closed",
        "reconcile.action_reopened",
    ]
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.events).where(
            schema.events.c.action == "reconcile.run")).scalar() == 3  # fmt: skip
    assert audit.verify(ledger.engine).ok


def test_each_remedy_does_its_part(ledger: Ledger, factory: InvoiceFactory, world: dict) -> None:
    inv = world
    run(ledger, factory, authority_list(inv))
    acts = by_number(ledger)

    letter = remedies.perform(
        ledger, int(acts[("mismatched", inv["cent_off"].number)]["id"]), today=TODAY
    )
    assert inv["cent_off"].number in letter.letter and "副本" in letter.letter
    assert letter.state == "in_progress"

    taken = remedies.perform(
        ledger, int(acts[("missing_in_ledger", inv["only_authority"].number)]["id"])
    )
    assert taken.state == "resolved"
    with ledger.engine.connect() as conn:
        row = conn.execute(select(schema.invoices).where(
            schema.invoices.c.identity_key == inv["only_authority"].number)).one()  # fmt: skip
    assert row.source == "authority" and row.direction == "received"

    voided = remedies.perform(
        ledger, int(acts[("status_mismatch", inv["paper_void"].number)]["id"])
    )
    assert voided.state == "resolved"
    with ledger.engine.connect() as conn:
        status = conn.execute(select(schema.invoices.c.status).where(
            schema.invoices.c.identity_key == inv["paper_void"].identity.key)).scalar()  # fmt: skip
    assert status == Status.VOID.value

    def entries(key: str) -> int:
        from fapiao.sync.tables import sync_outbox

        with ledger.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(sync_outbox).join(
                schema.invoices, schema.invoices.c.id == sync_outbox.c.invoice_id).where(
                schema.invoices.c.identity_key == key)).scalar()  # fmt: skip

    before = entries(inv["only_ledger"].number)
    up = remedies.perform(
        ledger, int(acts[("missing_at_authority", inv["only_ledger"].number)]["id"])
    )
    assert up.state == "in_progress"
    assert entries(inv["only_ledger"].number) == before + 1

    red_alone = int(acts[("missing_at_authority", inv["red_alone"].number)]["id"])
    remedies.set_action(ledger, red_alone, remedy="request_reissue")
    reissue = remedies.perform(ledger, red_alone, today=TODAY)
    assert "补开" in reissue.letter and inv["red_alone"].number in reissue.letter

    again = run(ledger, factory, authority_list(inv))[0].to_json()
    assert again["missing_in_ledger"] == []
    assert [s["number"] for s in again["status_mismatch"]] == [inv["blue_alone"].number]
    assert audit.verify(ledger.engine).ok


def test_bad_requests_are_refused(ledger: Ledger, factory: InvoiceFactory, world: dict) -> None:
    import pytest

    run(ledger, factory, authority_list(world))
    first = remedies.list_actions(ledger.engine)[0]
    with pytest.raises(remedies.ActionError):
        remedies.set_action(ledger, int(first["id"]), state="done")
    with pytest.raises(remedies.ActionError):
        remedies.set_action(
            ledger,
            int(first["id"]),
            remedy="take_authority" if first["category"] == "mismatched" else "report_duplicate",
        )
    with pytest.raises(remedies.ActionError):
        remedies.set_action(ledger, 999_999)


def test_a_run_closes_and_reopens_many_actions_in_a_statement_each(
    ledger: Ledger, factory: InvoiceFactory
) -> None:
    """After an outage is repaired, one run closes every action it opened: each one resolved and
    logged, written by one UPDATE for the run (one per kind of change), not one per action."""
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    lost = [factory.invoice(day=dt.date(2024, 6, 3), issued=True) for _ in range(30)]
    tables.put(ledger, lost)
    _, opened = run(ledger, factory, [])  # the platform lost them all
    assert len(opened.opened) == 30

    updates: list[int] = []

    def count(conn, cursor, statement, params, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE RECONCILE_ACTIONS"):
            updates.append(len(params) if executemany else 1)

    event.listen(ledger.engine, "before_cursor_execute", count)
    try:
        _, closed = run(ledger, factory, [auth(inv) for inv in lost])  # restored
        closing, updates[:] = list(updates), []
        _, reopened = run(ledger, factory, [])  # lost again
        reopening = list(updates)
    finally:
        event.remove(ledger.engine, "before_cursor_execute", count)
    assert sorted(closed.closed) == sorted(opened.opened) == sorted(reopened.reopened)
    assert closing == [30] and reopening == [30]  # one executemany each, every action in it
    acts = remedies.list_actions(ledger.engine)
    assert {(a["state"], a["resolution"]) for a in acts} == {("open", "")}
    history = remedies.get_action(ledger.engine, opened.opened[-1])["history"]
    assert [h["action"] for h in history] == [
        "reconcile.action_opened",
        "reconcile.action_closed",
        "reconcile.action_reopened",
    ]
    assert audit.verify(ledger.engine).ok
