"""One invoice as a printout: the sections of the paper form a clerk knows (票种 title, number and
date, buyer and seller side by side, the item lines, 合计, 价税合计 in 大写 and 小写, 备注,
开票人), marked as a record from the ledger rather than the original, with its status and
findings."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from fapiao.money import MoneyError, parse_yuan, to_words
from fapiao.printing.common import (
    DIRECTIONS,
    INK,
    KINDS,
    RULE,
    STATES,
    STATUSES,
    font,
    footer,
    label,
    para,
    printed_at,
    style,
)
from fapiao.vocabulary import amount

RATES = {"exempt": "免税", "nontaxable": "不征税", "margin": "差额征税"}
WIDTH = 182 * mm


def rate_text(rate: object) -> str:
    text = "" if rate is None else str(rate)
    if text in RATES:
        return RATES[text]
    try:
        return f"{(Decimal(text) * 100).normalize():f}%"
    except (InvalidOperation, ValueError):
        return text


def yuan(text: object) -> str:
    """'1234.50' -> ¥1,234.50 (thousands separated, as every amount a person reads)."""
    return f"¥{amount(str(text))}" if text not in (None, "") else ""


def _fen(text: object) -> int | None:
    try:
        return parse_yuan(str(text or ""))
    except (MoneyError, TypeError, ValueError):
        return None


def _party(title: str, party: dict[str, Any]) -> list[Any]:
    small, cell = style("party-label", 8, textColor=INK), style("party", 9)
    lines = [
        [para(title, style("party-title", 9.5, textColor=INK)), ""],
        [para("名称：", small), para(party.get("name", ""), cell)],
        [
            para("统一社会信用代码/纳税人识别号：", small),
            para(party.get("tax_id", ""), cell),
        ],
    ]
    for key, name in (("address", "地址、电话："), ("bank", "开户行及账号：")):
        if party.get(key):
            lines.append([para(name, small), para(str(party[key]), cell)])
    return lines


def _items(doc: dict[str, Any]) -> Table:
    head = ["项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率/征收率", "税额"]
    cell, num = style("item", 8.5), style("item-num", 8.5, alignment=2)
    rows: list[list[Any]] = [[para(h, style("item-head", 8.5, textColor=INK)) for h in head]]
    for it in doc.get("items") or []:
        rows.append(
            [
                para(it.get("name", ""), cell),
                para(it.get("spec", ""), cell),
                para(it.get("unit", ""), cell),
                para(it.get("quantity", ""), num),
                para(amount(str(it.get("unit_price", ""))), num),
                para(amount(str(it.get("amount", ""))), num),
                para(rate_text(it.get("tax_rate", "")), num),
                para(amount(str(it.get("tax", ""))), num),
            ]
        )
    rows.append(
        [
            para("合　　计", style("sum", 9, textColor=INK)),
            "",
            "",
            "",
            "",
            para(yuan(doc.get("amount")), num),
            "",
            para(yuan(doc.get("tax")), num),
        ]
    )
    widths = [w * mm for w in (46, 20, 12, 16, 22, 24, 20, 22)]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.8, RULE),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, RULE),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def invoice_pdf(
    doc: dict[str, Any],
    *,
    tenant_name: str | None = None,
    printed: str | None = None,
    attestation: str = "",
) -> bytes:
    """The printout of one invoice (`doc` as `queries.find_invoice` gives it)."""
    font()
    buf = io.BytesIO()
    number = doc.get("number", "")
    page = SimpleDocTemplate(
        buf,
        initialFontName=font(),  # no base-14 font is referenced, only the embedded one
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=f"发票 {number}",
        author="fapiao",
    )
    status = doc.get("status", "normal")
    story: list[Any] = [
        para(label(KINDS, doc.get("kind")), style("title", 17, alignment=1, textColor=INK)),
        para(
            "台账记录打印件（非税务机关交付的原件） / printed from the ledger, not the original",
            style("subtitle", 8, alignment=1, textColor=colors.grey),
        ),
        Spacer(1, 4 * mm),
    ]
    meta = [("发票号码", number), ("开票日期", doc.get("issue_date", ""))]
    if doc.get("code"):
        meta.insert(0, ("发票代码", doc["code"]))
    meta += [
        ("状态", label(STATUSES, status)),
        (
            "方向",
            label(DIRECTIONS, doc.get("direction")) + (f"（{tenant_name}）" if tenant_name else ""),
        ),
        ("上传状态", label(STATES, doc.get("authority_state"))),
    ]
    small, cell = style("meta-label", 8.5, textColor=INK), style("meta", 9)
    story.append(
        Table(
            [[para(k + "：", small), para(str(v), cell)] for k, v in meta],
            colWidths=[22 * mm, 90 * mm],
            hAlign="RIGHT",
        )
    )
    if status in ("red", "void"):
        word = "红字发票 RED" if status == "red" else "已作废 VOID"
        story.append(para(word, style("stamp", 14, alignment=1, textColor=colors.red)))
    story.append(Spacer(1, 3 * mm))
    parties = Table(
        [
            [
                Table(_party("购买方信息", doc.get("buyer") or {}), colWidths=[31 * mm, 59 * mm]),
                Table(_party("销售方信息", doc.get("seller") or {}), colWidths=[31 * mm, 59 * mm]),
            ]
        ],
        colWidths=[WIDTH / 2, WIDTH / 2],
    )
    parties.setStyle(
        TableStyle([("BOX", (0, 0), (-1, -1), 0.8, RULE), ("LINEAFTER", (0, 0), (0, 0), 0.5, RULE)])
    )
    story += [parties, Spacer(1, 2 * mm), _items(doc), Spacer(1, 2 * mm)]
    fen = _fen(doc.get("total"))
    words = to_words(fen) if fen is not None else ""
    total = Table(
        [
            [
                para("价税合计（大写）", style("total-label", 9.5, textColor=INK)),
                para(words, style("words", 10.5)),
                para(f"（小写）{yuan(doc.get('total'))}", style("figures", 10.5)),
            ]
        ],
        colWidths=[34 * mm, 92 * mm, 56 * mm],
    )
    total.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, RULE)]))
    remarks = [
        [
            para("备注", style("remarks-label", 9, textColor=INK)),
            para(doc.get("remarks") or "", style("remarks", 9)),
        ]
    ]
    rem = Table(remarks, colWidths=[16 * mm, WIDTH - 16 * mm], minRowHeights=[14 * mm])
    rem.setStyle(
        TableStyle([("BOX", (0, 0), (-1, -1), 0.8, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    story += [total, rem, Spacer(1, 2 * mm)]
    story.append(para(f"开票人：{doc.get('issuer') or ''}", style("issuer", 9)))
    findings = doc.get("findings") or []
    if findings:
        story += [
            Spacer(1, 4 * mm),
            para("检查发现 / findings", style("fh", 9.5, textColor=INK)),
        ]
        for f in findings:
            story.append(
                para(
                    f"[{f.get('severity', '')}] {f.get('code', '')}：{f.get('message', '')}",
                    style("f", 8.5),
                )
            )
    if attestation:  # the newest signed checkpoint: what this printout can be checked against
        story += [Spacer(1, 4 * mm), para(attestation, style("attest", 7.5, textColor=colors.grey))]
    stamp = f"台账 ID {doc.get('id', '')} · 打印于 {printed or printed_at()}"
    page.build(story, onFirstPage=footer(stamp), onLaterPages=footer(stamp))
    return buf.getvalue()
