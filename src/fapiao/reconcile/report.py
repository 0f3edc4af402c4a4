"""The reconciliation report as rows, JSON and xlsx (one sheet per category, Chinese headers).

The HTML form (with its charts) is in `html.py`; both read the same rows and aggregates from here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fapiao.money import format_fen
from fapiao.reconcile import deduction
from fapiao.reconcile.engine import CATEGORIES, Entry, Result
from fapiao.sheets import Book
from fapiao.vocabulary import ACTION_STATES, zh

TITLES = {
    "missing_at_authority": ("税务平台缺失", "missing at the authority"),
    "missing_in_ledger": ("账簿缺失", "missing in the ledger"),
    "mismatched": ("信息不一致", "fields differ"),
    "status_mismatch": ("状态不一致", "status differs"),
    "duplicates_at_authority": ("平台重复", "listed twice by the authority"),
    "deduction_mismatch": ("勾选不一致", "deduction selection differs"),
}
STATUS_ZH = {"normal": "正常", "red": "红冲", "void": "作废"}
FIELD_ZH = {
    "issue_date": "开票日期",
    "amount": "金额",
    "tax": "税额",
    "total": "价税合计",
    "seller.tax_id": "销方识别号",
    "buyer.tax_id": "购方识别号",
}
COMMON = ["发票代码", "发票号码", "开票日期", "方向", "对方名称", "对方识别号", "价税合计"]
EXTRA = {
    "missing_at_authority": [],
    "missing_in_ledger": [],
    "mismatched": ["不一致字段", "账簿", "税务平台"],
    "status_mismatch": ["账簿状态", "平台状态"],
    "duplicates_at_authority": ["出现次数"],
    "deduction_mismatch": ["不一致项", "账簿", "税务平台"],
}
ACTION_COLUMNS = ["处理事项", "处理方式", "处理状态", "负责人", "期限"]
AT_RISK = ("missing_at_authority", "missing_in_ledger", "mismatched", "status_mismatch")

Actions = dict[tuple[str, str], dict[str, Any]]  # (category, identity key) -> action


def headers(category: str) -> list[str]:
    return COMMON + EXTRA[category] + ACTION_COLUMNS


def row(e: Entry, actions: Actions | None = None) -> list[str]:
    cells = [
        e.code,
        e.number,
        e.issue_date.isoformat() if e.issue_date else "",
        "销项" if e.direction == "issued" else "进项",
        e.counterparty_name,
        e.counterparty_tax_id,
        format_fen(e.total),
    ]
    if e.category == "mismatched":
        cells += [
            "、".join(FIELD_ZH.get(f, f) for f in e.fields),
            "；".join(v["ledger"] for v in e.fields.values()),
            "；".join(v["authority"] for v in e.fields.values()),
        ]
    elif e.category == "status_mismatch":
        cells += [STATUS_ZH.get(e.ledger_status, e.ledger_status),
                  STATUS_ZH.get(e.authority_status, e.authority_status)]  # fmt: skip
    elif e.category == "duplicates_at_authority":
        cells.append(str(e.count))
    elif e.category == deduction.CATEGORY:
        names = {n: deduction.FIELDS[n][0] for n in e.fields}
        cells += [
            "、".join(names.values()),
            "；".join(deduction.shown(n, v["ledger"]) or "—" for n, v in e.fields.items()),
            "；".join(deduction.shown(n, v["authority"]) or "—" for n, v in e.fields.items()),
        ]
    a = (actions or {}).get((e.category, e.key))
    if a:
        cells += [
            str(a["id"]),
            a.get("remedy_zh", a["remedy"]),
            zh(ACTION_STATES, a["state"]),
            a["owner"],
            a["due_date"],
        ]
    else:
        cells += ["", "", "", "", ""]
    return cells


@dataclass(slots=True)
class Aggregates:
    """Findings and amounts at risk (价税合计 of the invoices concerned, each counted once; duplicates
    excluded) by month and by counterparty."""

    by_month: dict[str, dict[str, int]] = field(default_factory=dict)  # month -> category -> count
    risk_by_month: dict[str, int] = field(default_factory=dict)
    risk_by_party: dict[str, int] = field(default_factory=dict)  # "name (tax ID)" -> fen
    count_by_party: dict[str, int] = field(default_factory=dict)
    at_risk: int = 0


def aggregate(result: Result) -> Aggregates:
    agg = Aggregates()
    months: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CATEGORIES, 0))
    risk_m: dict[str, int] = defaultdict(int)
    risk_p: dict[str, int] = defaultdict(int)
    count_p: dict[str, int] = defaultdict(int)
    counted: set[str] = set()
    for e in result.all_entries():
        month = e.issue_date.strftime("%Y-%m") if e.issue_date else "?"
        months[month][e.category] += 1
        party = e.counterparty_name or e.counterparty_tax_id or "?"
        count_p[party] += 1
        if e.category in AT_RISK and e.key not in counted:
            counted.add(e.key)
            risk_m[month] += abs(e.total)
            risk_p[party] += abs(e.total)
            agg.at_risk += abs(e.total)
    agg.by_month = dict(sorted(months.items()))
    agg.risk_by_month = dict(sorted(risk_m.items()))
    agg.risk_by_party = dict(sorted(risk_p.items(), key=lambda kv: -kv[1]))
    agg.count_by_party = dict(count_p)
    return agg


def to_json(result: Result) -> dict[str, Any]:
    """DESIGN.md's `reconcile --json` object."""
    return result.to_json()


def to_xlsx(
    result: Result,
    *,
    tenant: str = "",
    authority: str = "",
    actions: Actions | None = None,
    attestation: str = "",
) -> bytes:
    """The workbook, streamed row by row (write-only), so its time grows linearly with the findings."""
    book = Book()
    summary = book.sheet("汇总")
    summary.widths({"A": 22, "B": 40})
    agg = aggregate(result)
    lines: list[tuple[str, Any]] = [
        ("企业", tenant),
        ("纳税人识别号", result.scope.tax_id),
        ("期间", result.scope.period or "全部"),
        ("税务平台数据来源", authority),
        ("账簿发票数", result.ledger_count),
        ("平台发票数", result.authority_count),
        ("一致", result.matched),
    ]
    lines += [(TITLES[c][0], len(result.entries[c])) for c in result.categories]
    lines.append(("涉及金额（价税合计）", _yuan(agg.at_risk)))
    if attestation:
        lines.append(("审计链检查点", attestation))
    summary.header(["项目", "值"], bold=False)
    for k, v in lines:
        summary.append([k, v])
    for cat in result.categories:
        ws = book.sheet(TITLES[cat][0])
        ws.widths(dict(zip("ABCDEFG", (14, 24, 12, 6, 30, 22, 14), strict=True)))
        ws.header(headers(cat), freeze=True)
        for e in result.entries[cat]:
            cells: list[Any] = row(e, actions)
            cells[TOTAL_AT] = _yuan(e.total)  # a number in the sheet, not text
            ws.append(cells)
    return book.to_bytes()


TOTAL_AT = COMMON.index("价税合计")


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100
