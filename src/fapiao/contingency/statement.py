"""The 情况说明: an incident statement for the tax bureau, as PDF, listing the affected invoices.

Set in the project's CJK font, embedded as a subset (fapiao.pdffont), so every reader shows the
text; nothing is downloaded. Numbers and amounts are printed as text so the list can be checked by
extracting the PDF's text.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import Engine

from fapiao.contingency.common import SHANGHAI, ContingencyError, local_text, tenant_rows
from fapiao.contingency.incidents import affected, get_incident
from fapiao.ledger import checkpoint
from fapiao.money import format_fen
from fapiao.pdffont import cjk_font

CAUSES = {
    "breaker": "税务平台连续无法连接（系统自动记录）",
    "reconcile": "对账发现平台与本单位账簿不一致（发票缺失）",
    "manual": "经办人登记",
}
REASONS = {
    "queued": "平台故障期间待上传/待开具",
    "manual": "手工开具纸质发票",
    "missing_at_authority": "平台缺失",
    "missing_in_ledger": "本单位账簿缺失",
}
DIRECTIONS = {"issued": "销项", "received": "进项"}


def statement_data(
    engine: Engine, incident_id: int, *, tenant_id: int | None = None
) -> dict[str, Any]:
    """Everything the statement says, as data (the PDF and the web page show the same)."""
    incident = get_incident(engine, incident_id)
    tid = incident["tenant_id"] if incident["tenant_id"] is not None else tenant_id
    tenants = {t["id"]: t for t in tenant_rows(engine)}
    if tid is None:
        if len(tenants) != 1:
            raise ContingencyError(
                "此事件涉及全部企业，请指定企业", "this incident covers every tenant: choose one",
                code="usage",
            )  # fmt: skip
        tid = next(iter(tenants))
    if tid not in tenants:
        raise ContingencyError(f"找不到企业：{tid}", f"no such tenant: {tid}", code="not_found")
    rows = affected(engine, incident, tenant_id=tid)
    return {
        "incident": incident,
        "tenant": tenants[tid],
        "affected": rows,
        "total": sum(r["total"] for r in rows),
        "today": dt.datetime.now(SHANGHAI).date(),
        "attestation": checkpoint.stamp(engine),  # the newest signed head of the audit chain
    }


def _shown_number(r: dict[str, Any]) -> str:
    return r["number"] or r["identity_key"]


def render_pdf(data: dict[str, Any]) -> bytes:
    font = cjk_font()
    inc, tenant, rows = data["incident"], data["tenant"], data["affected"]
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    end = local_text(inc["ended_at"]) if inc["ended_at"] else "至今尚未恢复"
    scope = inc["scope"]
    scope_text = (
        "；".join(
            f"{label}：{'、'.join(DIRECTIONS.get(v, v) for v in scope[key])}"
            for key, label in (
                ("directions", "方向"),
                ("kinds", "票种"),
                ("counterparties", "往来单位"),
                ("departments", "部门"),
            )
            if scope[key]
        )
        or "全部发票业务"
    )
    manual = sum(1 for r in rows if r["reason"] == "manual")
    linked = sum(1 for r in rows if r["linked"])
    story: list[Any] = [
        Paragraph("情况说明", title),
        Spacer(1, 6 * mm),
        Paragraph("主管税务机关：", body),
        Paragraph(
            f"我单位{tenant['name']}（纳税人识别号：{tenant['tax_id']}）在发票业务中遇到以下情况，"
            "特此说明：",
            body,
        ),
        Spacer(1, 2 * mm),
        Paragraph(f"一、事件：{inc['title']}（编号 {inc['id']}）。", body),
        Paragraph(f"二、原因：{CAUSES.get(inc['cause'], inc['cause'])}。", body),
        Paragraph(f"三、起止时间（北京时间）：{local_text(inc['started_at'])} 至 {end}。", body),
        Paragraph(f"四、影响范围：{scope_text}。", body),
        Paragraph(
            f"五、受影响发票共 {len(rows)} 张，价税合计 {format_fen(data['total'])} 元；"
            f"其中期间手工开具纸质发票 {manual} 张，已与电子发票对应 {linked} 张。明细如下：",
            body,
        ),
        Spacer(1, 3 * mm),
    ]
    head = [
        "序号",
        "发票代码",
        "发票号码",
        "开票日期",
        "方向",
        "对方单位",
        "价税合计",
        "情况",
        "对应电子发票",
    ]
    table = [head] + [
        [
            str(n),
            r["code"],
            _shown_number(r),
            r["issue_date"],
            DIRECTIONS.get(r["direction"], r["direction"]),
            Paragraph(r["counterparty_name"], small),
            format_fen(r["total"]),
            Paragraph(REASONS.get(r["reason"], r["reason"]), small),
            r["linked"],
        ]
        for n, r in enumerate(rows, start=1)
    ]
    t = Table(
        table,
        repeatRows=1,
        colWidths=[9 * mm, 20 * mm, 33 * mm, 17 * mm, 9 * mm, 30 * mm, 18 * mm, 20 * mm, 33 * mm],
    )
    t.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 7),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (6, 1), (6, -1), "RIGHT"),
            ]
        )
    )
    story += [t, Spacer(1, 5 * mm)]
    notes = [n for n in inc["notes"] if n["kind"] == "note"]
    if notes:
        story.append(Paragraph("六、处理经过：", body))
        story += [Paragraph(f"{local_text(n['at'])}　{n['text']}", body) for n in notes]
    story += [
        Spacer(1, 4 * mm),
        Paragraph("以上情况属实，特此说明。", body),
        Spacer(1, 10 * mm),
        Paragraph(f"{tenant['name']}（盖章）", body),
        Paragraph(f"{data['today'].year}年{data['today'].month}月{data['today'].day}日", body),
    ]
    if data.get("attestation"):
        story += [Spacer(1, 6 * mm), Paragraph(escape(data["attestation"]), body)]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        initialFontName=font,  # no base-14 font is referenced, only the embedded one
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title="情况说明",
        author=tenant["name"],
        invariant=1,
    )
    doc.build(story)
    return buf.getvalue()


def statement_pdf(engine: Engine, incident_id: int, *, tenant_id: int | None = None) -> bytes:
    return render_pdf(statement_data(engine, incident_id, tenant_id=tenant_id))
