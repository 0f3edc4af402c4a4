"""The reconciliation report as one self-contained HTML page: summary, charts drawn here as inline
SVG (no scripts, no CDN), a table per category, and print styles for paper."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from fapiao import deadline
from fapiao.money import format_fen
from fapiao.reconcile.engine import CATEGORIES, Result
from fapiao.reconcile.report import TITLES, Actions, aggregate, headers, row

COLOURS = {
    "missing_at_authority": "#c0392b",
    "missing_in_ledger": "#d68910",
    "mismatched": "#2471a3",
    "status_mismatch": "#7d3c98",
    "duplicates_at_authority": "#7f8c8d",
    "deduction_mismatch": "#117a65",
}
CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #ccc}
.meta{color:#555;font-size:12px} table{border-collapse:collapse;font-size:12px;width:100%}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left} th{background:#f2f2f2}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:8px} .card{border:1px solid #ccc;border-radius:4px;padding:6px 10px;min-width:110px}
.card b{display:block;font-size:18px} .card span{font-size:11px;color:#555}
.charts{display:flex;flex-wrap:wrap;gap:16px} svg{font-size:10px} .empty{color:#777;font-style:italic}
@media print{body{margin:0} h2{break-after:avoid} table{page-break-inside:auto} tr{break-inside:avoid}
 .charts{display:block} svg{max-width:100%}}
@page{size:A4 landscape;margin:12mm}
"""


def _bar_chart_months(result: Result, width: int = 520, height: int = 220) -> str:
    agg = aggregate(result)
    months = list(agg.by_month)
    if not months:
        return '<p class="empty">没有发现 / no findings</p>'
    left, bottom, top = 40, 40, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(sum(v.values()) for v in agg.by_month.values()) or 1
    slot = plot_w / len(months)
    bar = max(2.0, slot * 0.7)
    parts = [_axis(left, top, plot_w, plot_h, peak)]
    for i, month in enumerate(months):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for cat in CATEGORIES:
            n = agg.by_month[month][cat]
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[cat]}"><title>{escape(month)} {TITLES[cat][0]}: {n}</title></rect>'
            )
        if i % _label_step(len(months)) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                f"{escape(month)}</text>"
            )
    legend = "".join(
        f'<rect x="{left + i * 92}" y="{height - 14}" width="10" height="10" fill="{COLOURS[c]}"/>'
        f'<text x="{left + i * 92 + 14}" y="{height - 5}">{TITLES[c][0]}</text>'
        for i, c in enumerate(result.categories)
    )
    return _svg(width, height, "".join(parts) + legend, "按月份的发现 findings by month")


def _label_step(n: int, room: int = 8) -> int:
    """Label every k-th bar so that at most `room` labels share the axis."""
    return max(1, -(-n // room))


def _axis(left: int, top: int, w: float, h: float, peak: float, money: bool = False) -> str:
    label = format_fen(int(peak)) if money else str(int(peak))
    return (
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>'
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>'
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{label}</text>'
        f'<text x="{left - 4}" y="{top + h}" text-anchor="end">0</text>'
    )


def _risk_by_month(result: Result, width: int = 520, height: int = 220) -> str:
    agg = aggregate(result)
    items = list(agg.risk_by_month.items())
    if not items:
        return '<p class="empty">没有涉及金额 / nothing at risk</p>'
    left, bottom, top = 70, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(v for _, v in items) or 1
    slot = plot_w / len(items)
    bar = max(2.0, slot * 0.7)
    parts = [_axis(left, top, plot_w, plot_h, peak, money=True)]
    for i, (month, fen) in enumerate(items):
        h = plot_h * fen / peak
        x = left + i * slot + (slot - bar) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="#c0392b"><title>{escape(month)}: {format_fen(fen)}</title></rect>'
        )
        if i % _label_step(len(items)) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                f"{escape(month)}</text>"
            )
    return _svg(width, height, "".join(parts), "按月份的涉及金额 amount at risk by month")


def _risk_by_party(result: Result, width: int = 520, top_n: int = 10) -> str:
    agg = aggregate(result)
    items = list(agg.risk_by_party.items())[:top_n]
    if not items:
        return '<p class="empty">没有涉及金额 / nothing at risk</p>'
    label_w, row_h = 200, 20
    height = row_h * len(items) + 10
    peak = max(v for _, v in items) or 1
    parts = []
    for i, (party, fen) in enumerate(items):
        y = 5 + i * row_h
        w = (width - label_w - 90) * fen / peak
        name = party if len(party) <= 16 else party[:15] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="#2471a3">'
            f"<title>{escape(party)}: {format_fen(fen)}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{format_fen(fen)}</text>'
        )
    return _svg(width, height, "".join(parts), "按对方的涉及金额 amount at risk by counterparty")


def _svg(width: int, height: int, body: str, title: str) -> str:
    return (
        f'<figure><figcaption>{escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">{body}</svg></figure>'
    )


def _table(result: Result, cat: str, actions: Actions | None) -> str:
    entries = result.entries[cat]
    zh, en = TITLES[cat]
    head = f'<h2 id="{cat}">{zh} / {en}（{len(entries)}）</h2>'
    if not entries:
        return head + '<p class="empty">无 / none</p>'
    cols = headers(cat)
    money_at = cols.index("价税合计")
    lines = ["<table><thead><tr>", *(f"<th>{escape(c)}</th>" for c in cols), "</tr></thead><tbody>"]
    for n, e in enumerate(entries, 1):
        if n % 2000 == 0:
            deadline.check()  # a web job past its budget stops here
        cells = row(e, actions)
        lines.append(
            "<tr>"
            + "".join(
                f'<td class="num">{escape(c)}</td>' if i == money_at else f"<td>{escape(c)}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    lines.append("</tbody></table>")
    return head + "".join(lines)


def to_html(
    result: Result,
    *,
    tenant: str = "",
    authority: str = "",
    actions: Actions | None = None,
    now: dt.datetime | None = None,
    attestation: str = "",
) -> str:
    agg = aggregate(result)
    now = now or dt.datetime.now(dt.UTC)
    cards: list[tuple[str, Any]] = [
        ("账簿 ledger", result.ledger_count),
        ("平台 authority", result.authority_count),
        ("一致 matched", result.matched),
    ]
    cards += [(TITLES[c][0], len(result.entries[c])) for c in result.categories]
    cards.append(("涉及金额 at risk", format_fen(agg.at_risk)))
    card_html = "".join(
        f'<div class="card"><b>{escape(str(v))}</b><span>{escape(k)}</span></div>' for k, v in cards
    )
    period = result.scope.period or "全部 all"
    meta = (
        f"{escape(tenant)}（{escape(result.scope.tax_id)}） · 期间 period {escape(period)} · "
        f"税务平台数据 authority list: {escape(authority)} · 生成 generated {now.isoformat(timespec='seconds')}"
    )
    if attestation:
        meta += f"<br>{escape(attestation)}"
    body = [
        f"<h1>发票对账报告 / reconciliation report</h1><p class='meta'>{meta}</p>",
        f'<div class="cards">{card_html}</div>',
        '<h2>图表 / charts</h2><div class="charts">',
        _bar_chart_months(result),
        _risk_by_month(result),
        _risk_by_party(result),
        "</div>",
        *(_table(result, cat, actions) for cat in result.categories),
    ]
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>发票对账报告 reconciliation report</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
