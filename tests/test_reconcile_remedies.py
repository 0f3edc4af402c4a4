"""Remedies: findings become actions; re-running keeps, closes and reopens them; each remedy does its
part through the ledger's write path, and the audit chain stays intact."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import event, func, select

from fapiao.ledger import audit, policies, schema
from fapiao.ledger.store import Ledger
from fapiao.model import Status
from fapiao.reconcile import bulk, remedies
from fapiao.reconcile.engine import reconcile
from fapiao.sync.tables import sync_outbox as outbox_table
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


def test_re_uploads_carried_out_together_do_what_one_by_one_does(
    ledger: Ledger, factory: InvoiceFactory
) -> None:
    """`bulk.perform_all` (what `actions do --category` uses): the re-uploads in one write, with
    the same outbox entries, invoice states, action rows and events as `perform` makes one by one;
    an unknown or closed action refused by name, the rest carried out; under four eyes each waits
    for a second person, as it would alone."""
    tenant_id, _ = ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    lost = [factory.invoice(day=dt.date(2024, 6, 3), issued=True) for _ in range(8)]
    tables.put(ledger, lost)
    _, opened = run(ledger, factory, [])
    first, second, later = opened.opened[:3], opened.opened[3:6], opened.opened[6:]
    remedies.set_action(ledger, later[0], state="waived", note="已另行处理")
    before = _outbox_entries(ledger)
    for action_id in first:
        remedies.perform(ledger, action_id)
    outcomes = dict(bulk.perform_all(ledger, [*second, 999_999, later[0]]))

    assert [outcomes[i].state for i in second] == ["in_progress"] * 3
    assert "no such action" in str(outcomes[999_999]) and "closed" in str(outcomes[later[0]])
    acts = {int(a["id"]): a for a in remedies.list_actions(ledger.engine)}
    after = _outbox_entries(ledger)
    added = {number: after[number] - before.get(number, 0) for number in after}
    assert added == {acts[i]["number"]: 1 for i in first + second} | {
        acts[i]["number"]: 0 for i in later
    }  # one new outbox entry an invoice, whichever way
    with ledger.engine.connect() as conn:
        why = [
            json.loads(p)["why"]
            for p in conn.execute(
                select(schema.events.c.payload).where(
                    schema.events.c.action == "invoice.authority_state"
                )
            ).scalars()
            if "reconcile action" in p
        ]
    assert sorted(why) == sorted(f"reconcile action {i}" for i in first + second)
    for one, other in zip(first, second, strict=True):
        a, b = acts[one], acts[other]
        assert (a["state"], _untimed(a["notes"])) == (b["state"], _untimed(b["notes"]))
        mine, theirs = (remedies.get_action(ledger.engine, i)["history"][-1] for i in (one, other))
        assert mine["action"] == theirs["action"] == "reconcile.action_performed"
        assert set(mine["payload"]) == set(theirs["payload"])

    policies.set_four_eyes(ledger, tenant_id, True)
    waiting = dict(bulk.perform_all(ledger, [later[1]]))[later[1]]
    assert waiting.state == remedies.AWAITING  # not carried out: a second person approves it
    assert audit.verify(ledger.engine).ok


def _outbox_entries(ledger: Ledger) -> dict[str, int]:
    """Outbox entries by invoice number."""
    inv = schema.invoices
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(inv.c.number, func.count(outbox_table.c.id))
            .join(outbox_table, outbox_table.c.invoice_id == inv.c.id, isouter=True)
            .group_by(inv.c.number)
        ).all()
    return {number: count for number, count in rows}


def _untimed(notes: str) -> list[str]:
    """An action's notes without the minute each was written (`[2024-07-05 10:31] text`)."""
    return [line.split("] ", 1)[1] for line in notes.splitlines()]
