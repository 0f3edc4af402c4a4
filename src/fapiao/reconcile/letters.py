"""Letter texts (Chinese) for remedies that need someone outside: a counterparty or the tax office.

Each takes the action's detail (the finding as `Entry`-like JSON) and the tenant's name, and returns
plain text ready to paste into an e-mail or print.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def _invoice_lines(d: dict[str, Any]) -> str:
    lines = []
    if d.get("code"):
        lines.append(f"发票代码：{d['code']}")
    lines.append(f"发票号码：{d['number']}")
    if d.get("issue_date"):
        lines.append(f"开票日期：{d['issue_date']}")
    if d.get("total"):
        lines.append(f"价税合计：{d['total']} 元")
    if d.get("counterparty_name") or d.get("counterparty_tax_id"):
        lines.append(
            f"对方：{d.get('counterparty_name', '')}（{d.get('counterparty_tax_id', '')}）"
        )
    for name, pair in (d.get("fields") or {}).items():
        lines.append(f"不一致字段 {name}：我方 {pair['ledger']}，税务平台 {pair['authority']}")
    return "\n".join("    " + line for line in lines)


def _sign(tenant: str, today: dt.date) -> str:
    return f"\n此致\n敬礼\n\n{tenant}\n{today.isoformat()}\n"


def ask_copy(detail: dict[str, Any], tenant: str, today: dt.date) -> str:
    """To the counterparty: please send a copy of the invoice (original file or scan)."""
    who = detail.get("counterparty_name") or "贵公司"
    return (
        f"{who}：\n\n"
        "您好！我司在核对发票时发现以下发票需要核实，烦请提供该发票的副本"
        "（电子发票原文件 XML/OFD/PDF，或纸质发票扫描件），以便我司核对入账：\n\n"
        f"{_invoice_lines(detail)}\n\n"
        "如该发票已作废或已红冲，也请一并告知红字发票信息。谢谢配合！\n" + _sign(tenant, today)
    )


def request_reissue(detail: dict[str, Any], tenant: str, today: dt.date) -> str:
    """补开: ask the issuer to issue the invoice again (or to upload it) because the platform lacks it."""
    issued = detail.get("direction") == "issued"
    who = "主管税务机关" if issued else (detail.get("counterparty_name") or "贵公司")
    ask = (
        "我司开具的下列发票在电子发票服务平台中查询不到，特申请补传或补开："
        if issued
        else "贵公司开具给我司的下列发票在电子发票服务平台中查询不到，烦请核实上传情况，"
        "如无法补传，请予补开："
    )
    return f"{who}：\n\n您好！{ask}\n\n{_invoice_lines(detail)}\n" + _sign(tenant, today)


def report_duplicate(detail: dict[str, Any], tenant: str, today: dt.date) -> str:
    """To the tax office: the platform lists one invoice more than once."""
    return (
        "主管税务机关：\n\n"
        f"您好！我司在全量发票查询中发现下列发票重复出现 {detail.get('count', 2)} 次，"
        "请协助核实并更正平台数据：\n\n"
        f"{_invoice_lines(detail)}\n" + _sign(tenant, today)
    )


LETTERS = {
    "ask_copy": ask_copy,
    "request_reissue": request_reissue,
    "report_duplicate": report_duplicate,
}
