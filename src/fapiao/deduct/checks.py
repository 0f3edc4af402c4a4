"""Self-check: the 勾选 rows agree with the chain (every selection and confirmed period replayed
from its events), so a row edited behind the program's back is found."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from fapiao.deduct.tables import periods, selections
from fapiao.ledger.replay import differences, events
from fapiao.ops.checks import FAIL, OK, SKIP, Check, Probe


def check_deduct_chain(probe: Probe) -> Check:
    name = "deduct_chain"
    if not probe.db_ok or probe.schema_error or probe.engine is None:
        return Check(
            name, SKIP, "not_checked", "数据库不可用，未检查", "database not usable: not checked"
        )
    want_sel: dict[str, tuple[str, str, str]] = {}
    want_per: dict[str, bool] = {}
    with probe.engine.connect() as conn:
        for action, entity_id, p in events(
            conn, ("deduct.selected", "deduct.unselected", "deduct.confirmed")
        ):
            if action == "deduct.selected":
                want_sel[entity_id] = (p["period"], p["purpose"], p["reason"])
            elif action == "deduct.unselected":
                want_sel.pop(entity_id, None)
            else:
                want_per[entity_id] = True
        have_sel = {
            str(r.invoice_id): (r.period, r.purpose, r.reason)
            for r in conn.execute(select(selections))
        }
        have_per = {f"{r.tenant_id}:{r.period}": True for r in conn.execute(select(periods))}
    bad = differences(want_sel, have_sel) + differences(want_per, have_per)
    if bad:
        return Check(
            name,
            FAIL,
            "state_differs",
            f"勾选记录与审计链不符（被绕过程序修改）：{', '.join(bad)}",
            f"勾选 rows differ from the audit chain (changed behind the program's back): {', '.join(bad)}",
            {"keys": bad},
        )
    return Check(
        name,
        OK,
        "ok",
        f"勾选记录与审计链一致（{len(have_sel)} 条）",
        f"勾选 rows match the chain ({len(have_sel)})",
    )


CHECKS: dict[str, Callable[[Probe], Check]] = {"deduct_chain": check_deduct_chain}
