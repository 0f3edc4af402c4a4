"""Self-check: each 红字确认单's state agrees with its events, so a request edited behind the
program's back (say, set to issued without its red invoice) is found."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from fapiao.ledger.replay import differences, events
from fapiao.ops.checks import FAIL, OK, SKIP, Check, Probe
from fapiao.red.tables import requests

ACTIONS = ("red.requested", "red.approved", "red.issued", "red.rejected", "red.expired")


def check_red_chain(probe: Probe) -> Check:
    name = "red_chain"
    if not probe.db_ok or probe.schema_error or probe.engine is None:
        return Check(
            name, SKIP, "not_checked", "数据库不可用，未检查", "database not usable: not checked"
        )
    want: dict[str, str] = {}
    with probe.engine.connect() as conn:
        for action, entity_id, p in events(conn, ACTIONS, entity="red_request"):
            want[entity_id] = "pending" if action == "red.approved" else p["state"]
        have = {str(r.id): r.state for r in conn.execute(select(requests.c.id, requests.c.state))}
    bad = differences(want, have)
    if bad:
        return Check(
            name,
            FAIL,
            "state_differs",
            f"红字确认单与审计链不符（被绕过程序修改）：{', '.join(bad)}",
            f"红字确认单 rows differ from the audit chain: {', '.join(bad)}",
            {"keys": bad},
        )
    return Check(name, OK, "ok", "红字确认单与审计链一致", "红字确认单 rows match the chain")


CHECKS: dict[str, Callable[[Probe], Check]] = {"red_chain": check_red_chain}
