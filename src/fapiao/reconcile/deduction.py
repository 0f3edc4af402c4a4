"""勾选 compared: the platform's deduction selections, where its list states them, against the ledger's.

An export of received invoices may carry each one's 勾选状态, 用途 and 税款所属期 (`export_table`
reads them into `deduct_state`, `deduct_purpose`, `deduct_period`), and the API's list its
`deduction` (`authority.records`). For every invoice the tenant
received that is on both sides and whose row states its 勾选, the ledger's selection is compared
with it: selected on one side only, another purpose, another period. Each difference is an entry of
category `deduction_mismatch`, filed and reported like any other finding.

The ledger's side is asked through the `deduction_selections` hook, answered by whichever
capability keeps 勾选 (deduct): reconcile imports none of it. A list that states no 勾选 (older
exports, other companies', an API list without `deduction`) or a ledger where no capability answers compares
nothing: the category then stays in `Result.uncompared`, and its open actions are left alone
rather than closed as vanished.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from fapiao import plugins, vocabulary
from fapiao.authority.export_table import table_of
from fapiao.model import AuthorityRecord
from fapiao.reconcile.engine import Entry, Result
from fapiao.reconcile.sources import AuthorityRows

CATEGORY = "deduction_mismatch"
FIELDS = {name: vocabulary.FIELDS[name] for name in ("selection", "purpose", "period")}
VALUES = vocabulary.DEDUCTION
REMEDIES = {
    "correct_ledger": ("在账本中更正勾选", "correct the selection in the ledger"),
    "select_at_authority": ("在平台上勾选", "select it on the platform"),
    "unselect_at_authority": ("在平台上撤销勾选", "undo the selection on the platform"),
    "fix_at_authority": (
        "在平台上更正用途或所属期",
        "correct the purpose or period on the platform",
    ),
}
COLUMNS = ["key", "code", "number", "issue_date", "seller_tax_id", "seller_name", "total", "rn",
           "deduct_state", "deduct_purpose", "deduct_period"]  # fmt: skip


def _table(authority: list[AuthorityRecord] | AuthorityRows | pa.Table) -> pa.Table | None:
    if isinstance(authority, AuthorityRows):
        return authority.table
    if isinstance(authority, pa.Table):
        return authority if "deduct_state" in authority.column_names else None
    if not any(r.deduct_state for r in authority):  # a list without 勾选 costs nothing more
        return None
    return table_of(authority)


def stated(result: Result, table: pa.Table) -> pa.Table:
    """The rows of invoices the tenant received in the scope whose 勾选 the list states, that the
    ledger holds too; of a key listed twice, its first row."""
    scope = result.scope
    mask = pc.and_(
        pc.not_equal(table["deduct_state"], ""), pc.equal(table["buyer_tax_id"], scope.tax_id)
    )
    if scope.date_from is not None and scope.date_to is not None:
        day = table["issue_date"]
        mask = pc.and_(
            mask,
            pc.and_(
                pc.greater_equal(day, pa.scalar(scope.date_from)),
                pc.less_equal(day, pa.scalar(scope.date_to)),
            ),
        )
    absent = [e.key for e in result.entries["missing_in_ledger"]]
    if absent:
        mask = pc.and_(mask, pc.invert(pc.is_in(table["key"], value_set=pa.array(absent))))
    rows = table.filter(pc.fill_null(mask, False)).select(COLUMNS)
    if rows.num_rows and pc.count_distinct(rows["key"]).as_py() < rows.num_rows:
        first = rows.group_by("key").aggregate([("rn", "min")])["rn_min"]
        rows = rows.filter(pc.is_in(rows["rn"], value_set=first))
    return rows


def compare(engine: Engine, result: Result, authority: Any) -> None:
    """Add the `deduction_mismatch` entries to `result` (it is already classified)."""
    table = _table(authority)
    if table is None or "deduct_state" not in table.column_names:
        return
    rows = stated(result, table)
    if rows.num_rows == 0:
        return
    keys = rows["key"].to_pylist()
    ours = plugins.hook().deduction_selections(
        engine=engine, tenant_id=result.scope.tenant_id, keys=keys
    )
    if ours is None:  # no capability keeps 勾选: nothing to compare with
        return
    result.uncompared.discard(CATEGORY)
    held = [ours.get(k) for k in keys]
    l_period = pa.array([h[0] if h else "" for h in held], pa.string())
    l_purpose = pa.array([h[1] if h else "" for h in held], pa.string())
    l_state = pa.array(["selected" if h else "unselected" for h in held], pa.string())
    a_state, a_purpose, a_period = (
        rows["deduct_state"],
        rows["deduct_purpose"],
        rows["deduct_period"],
    )
    both = pc.and_(pc.equal(l_state, "selected"), pc.equal(a_state, "selected"))

    def said_and_differs(mine: pa.Array, theirs: Any) -> pa.Array:
        # a purpose or period the list leaves empty is not a difference
        return pc.and_(both, pc.and_(pc.not_equal(theirs, ""), pc.not_equal(mine, theirs)))

    differs = pc.or_(
        pc.not_equal(l_state, a_state),
        pc.or_(said_and_differs(l_purpose, a_purpose), said_and_differs(l_period, a_period)),
    )
    at = pc.indices_nonzero(differs)
    if len(at) == 0:
        return
    picked = rows.take(at).to_pylist()
    mine = zip(
        pc.take(l_state, at).to_pylist(),
        pc.take(l_purpose, at).to_pylist(),
        pc.take(l_period, at).to_pylist(),
        strict=True,
    )
    entries = result.entries[CATEGORY]
    for row, (state, purpose, period) in zip(picked, mine, strict=True):
        fields = _fields(
            (state, purpose, period),
            (row["deduct_state"], row["deduct_purpose"], row["deduct_period"]),
        )
        entries.append(
            Entry(
                CATEGORY,
                row["code"],
                row["number"],
                issue_date=row["issue_date"],
                direction="received",
                counterparty_tax_id=row["seller_tax_id"],
                counterparty_name=row["seller_name"],
                total=int(row["total"]),  # the platform's: a differing total is `mismatched`
                fields=fields,
                authority_rn=int(row["rn"]),
            )
        )
    entries.sort(key=lambda e: (e.code, e.number))


def _fields(mine: tuple[str, str, str], theirs: tuple[str, str, str]) -> dict[str, dict[str, str]]:
    """What differs, named: selected on one side only (with the selected side's purpose and
    period beside it), or, selected on both, the purpose and period that differ."""
    out = {}
    for name, m, t in zip(FIELDS, mine, theirs, strict=True):
        if mine[0] != theirs[0]:
            if m or t:
                out[name] = {"ledger": m, "authority": t}
        elif m != t and t:
            out[name] = {"ledger": m, "authority": t}
    return out


def default_remedy(e: Entry) -> str:
    """Selected in the ledger only: do it on the platform; otherwise the platform's 勾选 is what
    was declared, so the ledger follows it (a person may choose the platform side instead)."""
    state = e.fields.get("selection")
    if state and state["ledger"] == "selected":
        return "select_at_authority"
    return "correct_ledger"


def instruction(remedy: str, detail: dict[str, Any], tenant_id: int) -> str:
    """What a person does for the remedy (`zh / en`): the platform's steps or the ledger's command."""
    key = f"{detail['code']}-{detail['number']}" if detail.get("code") else detail["number"]
    fields = detail.get("fields") or {}

    def side(which: str, name: str) -> str:
        return (fields.get(name) or {}).get(which, "")

    if remedy == "correct_ledger":
        period, purpose = side("authority", "period"), side("authority", "purpose")
        if side("authority", "selection") == "unselected":
            command = f"fapiao deduct unselect {key} --tenant {tenant_id}"
        elif period or purpose:
            command = ""
            if side("ledger", "period") and period:  # another period: undone before it moves
                command = f"fapiao deduct unselect {key} --tenant {tenant_id}; "
            command += f"fapiao deduct select {key} --tenant {tenant_id}"
            command += f" --period {period or side('ledger', 'period')}"
            command += f" --purpose {purpose}" if purpose else ""
            command += ' --reason "…"' if purpose == "no_deduct" else ""
        else:
            command = f"fapiao deduct status --tenant {tenant_id}"
        return f"请在账本中按平台更正：{command} / correct the ledger as the platform has it: {command}"
    zh, en = REMEDIES[remedy]
    return (
        f"请登录电子税务局「发票勾选确认」{zh}（{key}），完成后重新对账 / on the platform's "
        f"勾选 page: {en} ({key}), then reconcile again"
    )


def shown(name: str, value: str) -> str:
    """A field's value in the report's words (已勾选, 抵扣, 2024-11)."""
    return VALUES.get(value, (value, value))[0] if name != "period" else value
