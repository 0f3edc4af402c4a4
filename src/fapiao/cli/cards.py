"""How invoices read in a terminal: a list that keeps each number whole at 80 columns, and one
invoice as a card laid out like the paper (header, parties, items, totals, remarks), with its
history below. Codes are shown in Chinese (vocabulary); `--json` gives the data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fapiao.vocabulary import (
    AUTHORITY_STATES,
    CATEGORY_SOURCES,
    DIRECTIONS,
    KINDS,
    SHORT_KINDS,
    STATUSES,
    VERIFICATIONS,
    rate,
    shown,
    yuan,
    zh,
)


def key_of(row: dict[str, Any]) -> str:
    return f"{row['code']}-{row['number']}" if row.get("code") else row.get("number", "")


def invoice_list(rows: Iterable[dict[str, Any]], width: int, states: Iterable[Any] = ()) -> Table:
    """One line per invoice within `width` columns: every column but the counterparty is as wide as
    its widest value (so a number is never cut), the counterparty gets what is left. `states`:
    the capabilities' states (`ListState`) to show as columns ('已入账 记-0012')."""
    from fapiao.ledger.listing_states import brief

    shown_states = list(states)
    lines = []
    for row in rows:
        other = row["buyer"] if row["direction"] == "issued" else row["seller"]
        lines.append(
            (
                str(row["id"]),
                zh(DIRECTIONS, row["direction"])[:1],
                key_of(row),
                row["issue_date"],
                other["name"],
                yuan(row["total"]),
                zh(STATUSES, row["status"]),
                zh(AUTHORITY_STATES, row["authority_state"]),
                *(brief(s, row.get(s.name)) for s in shown_states),
            )
        )
    heads = ("id", "向", "号码 number", "日期", "对方 counterparty", "价税合计", "状态", "上传")
    heads += tuple(s.zh for s in shown_states)
    widths = [
        max([cell_len(h), *(cell_len(line[n]) for line in lines)]) for n, h in enumerate(heads)
    ]
    widths[4] = max(6, width - (sum(widths) - widths[4]) - 2 * (len(heads) - 1))
    table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    for n, head in enumerate(heads):
        right = n in (0, 5)
        table.add_column(
            head, width=widths[n], no_wrap=True, overflow="ellipsis",
            justify="right" if right else "left",
        )  # fmt: skip
    for line in lines:
        table.add_row(*line)
    return table


def invoice_card(found: dict[str, Any]) -> Group:
    """One invoice as it is printed: header, parties, items, totals, remarks and issuer."""
    head = Text()
    head.append(zh(KINDS, found.get("kind")), style="bold")
    head.append(f"  {key_of(found)}\n")
    head.append(f"开票日期 {found.get('issue_date', '')}  ·  {zh(STATUSES, found.get('status'))}")
    head.append(f"  ·  {zh(DIRECTIONS, found.get('direction'))}")
    head.append(f"  ·  {zh(AUTHORITY_STATES, found.get('authority_state'))}")
    if found.get("check_code"):
        head.append(f"\n校验码 {found['check_code']}")
    parties = Table.grid(padding=(0, 2))
    parties.add_column(style="dim", no_wrap=True)
    parties.add_column()
    for label, party in (
        ("购买方", found.get("buyer") or {}),
        ("销售方", found.get("seller") or {}),
    ):
        parties.add_row(
            label, f"{party.get('name', '')}  {party.get('tax_id', '') or '（无税号）'}"
        )
    items = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), expand=True)
    for name, justify in (("项目名称", "left"), ("数量", "right"), ("单价", "right")):
        items.add_column(name, justify=justify, ratio=3 if name == "项目名称" else None)  # type: ignore[arg-type]
    for name in ("金额", "税率", "税额"):
        items.add_column(name, justify="right", no_wrap=True)
    for item in found.get("items") or []:
        items.add_row(
            item.get("name", ""),
            item.get("quantity", ""),
            item.get("unit_price", ""),
            yuan(item.get("amount")),
            rate(item.get("tax_rate")),
            yuan(item.get("tax")),
        )
    totals = Text(
        f"合计 金额 ¥{yuan(found.get('amount'))}  税额 ¥{yuan(found.get('tax'))}  "
        f"价税合计 ¥{yuan(found.get('total'))}"
    )
    if found.get("total_words"):
        totals.append(f"（{found['total_words']}）")
    foot = Text(f"备注 {found.get('remarks') or '—'}\n开票人 {found.get('issuer') or '—'}")
    title = f"{zh(SHORT_KINDS, found.get('kind'))} · 台账 id {found.get('id', '')}"
    return Group(Panel(Group(head, Text(""), parties, items, totals, foot), title=title))


def print_details(console: Console, found: dict[str, Any]) -> None:
    """What the paper does not show: findings, the original file, category, 查验, the history."""
    for f in found.get("findings") or []:
        console.print(
            f"  [{f.get('severity')}] {f.get('code')} {f.get('message')}", highlight=False
        )
    original = found.get("original_file") or {}
    if original:
        console.print(
            f"原始文件 original: {original.get('name', '')}  sha256 {str(original.get('sha256', ''))[:16]}…",
            highlight=False,
        )
    console.print(
        f"类别 category: {found.get('category', '')} "
        f"({zh(CATEGORY_SOURCES, found.get('category_source'))})",
        highlight=False,
    )
    for v in found.get("verifications") or []:
        fields = ", ".join(v.get("fields") or [])
        word = zh(VERIFICATIONS, v.get("result"))
        console.print(
            f"查验 verification {shown(v['at'], seconds=True)} {word} ({v.get('result')}) {fields} {v.get('reason', '')}",
            highlight=False,
        )
    console.print("历史 history:")
    for e in found.get("events") or []:
        console.print(
            f"  #{e['seq']} {shown(e['at'], seconds=True)} {e['actor']} {e['action']}",
            highlight=False,
        )
    for h in found.get("authority_history") or []:
        if "outbox" in h:
            o = h["outbox"]
            console.print(
                f"  上传队列 outbox {o['op']} {o['state']} 次数 {o['attempts']} {o['last_error']}",
                highlight=False,
            )
        else:
            console.print(
                f"  {shown(h['at'], seconds=True)} {zh(AUTHORITY_STATES, h['from'])} → "
                f"{zh(AUTHORITY_STATES, h['authority_state'])}",
                highlight=False,
            )
