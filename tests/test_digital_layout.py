"""The 数电票 layout reader on small pages of positioned text built here, and on PDFs drawn here:
parties side by side, wrapped item names, discount lines, 免税/不征税, tables of special
businesses, split labels, margin text, multi-page invoices, text layers without a Unicode map."""

from __future__ import annotations

import io

import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from fapiao.model import Kind
from fapiao.parse import digital_layout, pdf
from fapiao.parse.layout import Box, Fields, to_reads
from fapiao.parse.pdf_pages import normalise, usable
from fapiao.parse.reading import build
from fapiao_dev.samples import invoices
from fapiao_dev.samples.render_pdf import invoice_pdf

H = 8.0  # text height


def _width(text: str) -> float:
    return sum(H if ord(ch) > 0x2000 else H * 0.55 for ch in text)


def left(x: float, y: float, text: str) -> Box:
    return Box(text, x, y, x + _width(text), y + H)


def right(x1: float, y: float, text: str) -> Box:
    """A number set flush right against x1, as the amount columns are."""
    return Box(text, x1 - _width(text), y, x1, y + H)


def header(
    buyer: str = "苏州信泰宜合信息技术有限公司", seller: str = "无锡友达加油服务有限公司"
) -> list:
    return [
        left(196, 25, "电子发票（普通发票）"),
        left(439, 32, "发票号码："),
        left(482, 32, "25322000000622032799"),
        left(438, 49, "开票日期："),
        left(482, 49, "2025年12月24日"),
        left(17, 94, "购"),
        left(33, 96, "名称："),
        left(57, 96, buyer),
        left(302, 94, "销"),
        left(318, 96, "名称："),
        left(341, 96, seller),
        left(33, 126, "统一社会信用代码/纳税人识别号："),
        left(155, 126, "91320594769869645C"),
        left(318, 126, "统一社会信用代码/纳税人识别号："),
        left(440, 126, "913202113545926568"),
    ]


TABLE = [
    (46, "项目名称"),
    (120, "规格型号"),
    (191, "单 位"),
    (264, "数 量"),
    (335, "单 价"),
    (407, "金 额"),
    (447, "税率/征收率"),
    (551, "税 额"),
]


def row(y: float, name: str, amount: str, rate: str, tax: str, **more: str) -> list:
    out = [left(13, y, name), right(433, y, amount), left(466, y, rate), right(582, y, tax)]
    if "spec" in more:
        out.append(left(119, y, more["spec"]))
    if "quantity" in more:
        out.append(right(290, y, more["quantity"]))
    if "unit_price" in more:
        out.append(right(361, y, more["unit_price"]))
    return out


def footer(amount: str, tax: str, total: str, words: str, remarks: str = "") -> list:
    out = [
        left(58, 262, "合"),
        left(104, 262, "计"),
        left(402, 262, "¥"),
        right(435, 262, amount),
        left(554, 262, "¥"),
        right(582, 262, tax),
        left(48, 280, "价税合计（大写）"),
        left(179, 280, words),
        left(412, 280, "（小写）"),
        left(441, 280, "¥"),
        left(448, 280, total),
        left(17, 310, "备"),
        left(18, 328, "注"),
        left(56, 369, "开票人："),
        left(91, 369, "于芬"),
    ]
    if remarks:
        out.append(left(32, 297, remarks))
    return out


def page(items: list, totals: list, table: list = TABLE, **parties: str) -> list[Box]:
    return header(**parties) + [left(x, 151, t) for x, t in table] + items + totals


def _invoice(fields: Fields | None):
    assert fields is not None
    inv, findings = build(to_reads(fields, "text"))
    assert inv is not None, [f.message_en for f in findings]
    return inv


def test_buyer_left_seller_right_whatever_the_order_of_the_text() -> None:
    boxes = page(
        row(162, "*汽油*车用汽油", "207.12", "13%", "26.93"),
        footer("207.12", "26.93", "234.05", "贰佰叁拾肆圆零伍分", "收款人:严怀建"),
    )
    # the text layer lists the seller's values before the buyer's
    fields = digital_layout.extract(list(reversed(boxes)))
    inv = _invoice(fields)
    assert inv.kind is Kind.DIGITAL_NORMAL and inv.number == "25322000000622032799"
    assert inv.buyer.name == "苏州信泰宜合信息技术有限公司"
    assert inv.buyer.tax_id == "91320594769869645C"
    assert inv.seller.name == "无锡友达加油服务有限公司"
    assert inv.seller.tax_id == "913202113545926568"
    assert (inv.amount, inv.tax, inv.total) == (20712, 2693, 23405)
    assert inv.issue_date.isoformat() == "2025-12-24"
    assert inv.remarks == "收款人:严怀建" and inv.issuer == "于芬"


def test_wrapped_name_and_spec_join_their_item_and_the_discount_follows() -> None:
    items = row(162, "*软饮料*农夫山泉 饮用", "100.00", "13%", "13.00", spec="92#车用汽油")
    items += [left(13, 173, "水 饮用天然水550ml*12"), left(119, 173, "(VIB)")]
    items += [left(13, 186, "瓶*2包 塑膜装")]
    # a discount line whose minus sign was lost on the amount (as OCR does)
    items += row(199, "*软饮料*农夫山泉 饮用水", "10.00", "13%", "-1.30")
    fields = digital_layout.extract(
        page(items, footer("90.00", "11.70", "101.70", "壹佰零壹圆柒角"))
    )
    inv = _invoice(fields)
    first, discount = inv.items
    assert first.name == "*软饮料*农夫山泉 饮用水 饮用天然水550ml*12瓶*2包 塑膜装"
    assert first.spec == "92#车用汽油(VIB)"
    assert (discount.amount, discount.tax) == (-1000, -130)
    assert sum(i.amount for i in inv.items) == inv.amount


@pytest.mark.parametrize(("rate", "canonical"), [("免税", "exempt"), ("不征税", "nontaxable")])
def test_exempt_and_nontaxable_lines_have_tax_stars(rate: str, canonical: str) -> None:
    items = row(162, "*谷物*大米", "50.00", rate, "***")
    fields = digital_layout.extract(page(items, footer("50.00", "***", "50.00", "伍拾圆整")))
    inv = _invoice(fields)
    assert inv.items[0].tax_rate == canonical and inv.items[0].tax == 0
    assert (inv.amount, inv.tax, inv.total) == (5000, 0, 5000)


def test_passenger_table_below_the_items_is_not_read_as_items() -> None:
    table = [(77, "项目名称"), (207, "单 价"), (298, "数 量"), (392, "金 额")]
    table += [(452, "税率/征收率"), (558, "税 额")]
    items = row(162, "*运输服务*客运服务费", "812.17", "3%", "24.36", unit_price="812.17")
    items += row(175, "*运输服务*客运服务费", "-90.87", "3%", "-2.73")
    travellers = [
        left(31, 240, "出行人"),
        left(94, 240, "有效身份证件号"),
        left(198, 240, "出行日期"),
    ]
    travellers += [left(31, 252, "张三"), left(94, 252, "110101199001011234")]
    boxes = page(items, footer("721.30", "21.63", "742.93", "柒佰肆拾贰圆玖角叁分"), table)
    inv = _invoice(digital_layout.extract(boxes + travellers))
    assert [(i.amount, i.tax) for i in inv.items] == [(81217, 2436), (-9087, -273)]
    assert inv.total == 74293


def test_toll_table_columns_we_do_not_know_stay_out_of_the_known_ones() -> None:
    table = [(40, "项目名称"), (120, "车牌号"), (180, "类型"), (230, "通行日期起")]
    table += [(320, "通行日期止"), (407, "金 额"), (447, "税率/征收率"), (551, "税 额")]
    items = row(162, "*经营租赁*通行费", "97.09", "3%", "2.91")
    items += [left(120, 162, "苏E12345"), left(180, 162, "客车"), left(230, 162, "20250101")]
    items += [left(320, 162, "20250131")]
    fields = digital_layout.extract(
        page(items, footer("97.09", "2.91", "100.00", "壹佰圆整"), table)
    )
    assert fields is not None
    [item] = fields.items
    assert item == {"name": "*经营租赁*通行费", "amount": "97.09", "tax_rate": "3%", "tax": "2.91"}


def test_labels_split_or_half_lost_by_ocr() -> None:
    table = [(46, "项目名称"), (264, "数"), (282, "量"), (407, "金 额")]
    table += [(447, "税率/征收率"), (551, "税 额")]
    items = row(162, "*运输服务*客运服务费", "54.55", "3%", "1.64", quantity="1")
    totals = footer("54.55", "1.64", "56.19", "伍拾陆圆壹角玖分")
    totals = [b for b in totals if b.text != "合"]  # OCR did not see 合 of 合计
    boxes = page(items, totals, table)
    boxes = [b for b in boxes if b.text != "名称："] + [left(33, 96, "，称：")]
    fields = digital_layout.extract(boxes)
    assert fields is not None
    assert fields.items[0]["quantity"] == "1" and fields.items[0]["amount"] == "54.55"
    assert (fields.amount, fields.tax) == ("54.55", "1.64")
    assert fields.buyer.name == "苏州信泰宜合信息技术有限公司"


def test_text_down_the_margin_is_left_out() -> None:
    items = row(162, "*住宿服务*住宿费", "475.25", "1%", "4.75")
    margin = Box("下载次数：1", 588, 91, 596, 140)
    boxes = [*page(items, footer("475.25", "4.75", "480.00", "肆佰捌拾圆整")), margin]
    inv = _invoice(digital_layout.extract(boxes))
    assert inv.seller.name == "无锡友达加油服务有限公司" and inv.total == 48000


def test_older_layout_is_not_claimed() -> None:
    boxes = [left(200, 20, "江苏增值税电子普通发票"), left(400, 30, "发票代码：032002000111")]
    boxes += [left(400, 42, "发票号码：12345678"), left(300, 80, "密码区")]
    boxes += [left(20, 80, "名 称：某某公司"), left(20, 92, "纳税人识别号：91320594769869645C")]
    assert digital_layout.extract(boxes) is None


def test_kangxi_radicals_read_as_the_ideographs_they_look_like() -> None:
    assert normalise("电⼦发票（增值税专用发票）") == "电子发票（增值税专用发票）"
    assert usable([Box("电子发票（普通发票）合计金额税额价税合计", 0, 0, 100, 8)])
    assert not usable(
        [Box("\x01\x02\x03\x04\x05\x06\x07\x03\x04\x08\x03\x04\x05\x06\x07", 0, 0, 9, 8)]
    )
    assert not usable([Box("ÄÅÇÉÑÖ Üáàâäã åçéèê ìîïñóò", 0, 0, 100, 8)])


# --- PDFs drawn here ---------------------------------------------------------------------------

FONT = "STSong-Light"


def _draw(c: canvas.Canvas, boxes: list[Box], height: float) -> None:
    c.setFont(FONT, 7)
    for box in boxes:
        c.drawString(box.x0, height - box.y1 + 1, box.text)


def _pdf(pages: list[list[Box]]) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 397))
    for boxes in pages:
        _draw(c, boxes, 397)
        c.showPage()
    c.save()
    return buf.getvalue()


def test_items_going_on_over_a_second_page_make_one_invoice() -> None:
    first = header() + [left(x, 151, t) for x, t in TABLE]
    first += row(162, "*汽油*车用汽油", "100.00", "13%", "13.00")
    first += row(175, "*汽油*车用柴油", "200.00", "13%", "26.00")
    second = header() + [left(x, 151, t) for x, t in TABLE]
    second += row(162, "*润滑油*机油", "50.00", "13%", "6.50")
    second += footer("350.00", "45.50", "395.50", "叁佰玖拾伍圆伍角")
    [parsed] = pdf.parse(_pdf([first, second]))
    inv = parsed.invoice
    assert inv is not None, [f.message_en for f in parsed.findings]
    assert [i.name for i in inv.items] == ["*汽油*车用汽油", "*汽油*车用柴油", "*润滑油*机油"]
    assert (inv.amount, inv.tax, inv.total) == (35000, 4550, 39550)
    assert inv.number == "25322000000622032799"


def test_two_invoices_in_one_pdf_stay_two() -> None:
    one = page(
        row(162, "*汽油*车用汽油", "100.00", "13%", "13.00"),
        footer("100.00", "13.00", "113.00", "壹佰壹拾叁圆整"),
    )
    two = [
        b if b.text != "25322000000622032799" else left(482, 32, "25322000000622032800")
        for b in one
    ]
    parsed = pdf.parse(_pdf([one, two]))
    assert [p.invoice.number for p in parsed if p.invoice] == [
        "25322000000622032799",
        "25322000000622032800",
    ]
    assert [p.label for p in parsed] == ["[page 1]", "[page 2]"]


def test_text_layer_without_unicode_map_is_read_from_the_picture() -> None:
    inv = next(i for i in invoices(24, seed=21) if i.kind is Kind.DIGITAL_NORMAL)
    data = invoice_pdf(inv)
    assert data.count(b"/ToUnicode") >= 1
    # same length, so the cross-reference table stays right: the font loses its Unicode map
    broken = data.replace(b"/ToUnicode", b"/ToUnicodX")
    [parsed] = pdf.parse(broken)
    assert parsed.invoice is not None
    assert (parsed.invoice.number, parsed.invoice.total) == (inv.number, inv.total)
    assert parsed.invoice.seller.name == inv.seller.name
    assert {r.source for r in parsed.fields.values()} & {"ocr"}


def test_railway_ticket_fare_is_the_total_with_nine_percent_inside() -> None:
    boxes = [
        left(200, 20, "电子发票（铁路电子客票）"),
        left(420, 20, "发票号码:25119110061000231489"),
        left(420, 35, "开票日期:2025年01月02日"),
        left(60, 80, "福州南站"),
        left(200, 80, "D3137"),
        left(320, 80, "上海虹桥站"),
        left(60, 110, "2025年01月01日 10:50开"),
        left(60, 130, "￥391.00"),
        left(60, 170, "电子客票号:6710361208010799900012025"),
        left(60, 190, "购买方名称:苏州信泰宜合信息技术有限公司"),
        left(330, 190, "统一社会信用代码:91320594769869645C"),
    ]
    fields = digital_layout.extract(boxes)
    inv = _invoice(fields)
    assert inv.number == "25119110061000231489" and inv.issue_date.isoformat() == "2025-01-02"
    assert inv.buyer.name == "苏州信泰宜合信息技术有限公司"
    assert inv.buyer.tax_id == "91320594769869645C"
    assert (inv.total, inv.amount, inv.tax) == (39100, 35872, 3228)
    assert [(i.tax_rate, i.amount, i.tax) for i in inv.items] == [("0.09", 35872, 3228)]
    assert fields is not None and fields.confidence["tax"] < 1


def test_air_itinerary_separates_the_fund_from_the_taxed_fare() -> None:
    labels = ["票价", "燃油附加费", "增值税税率", "增值税税额", "民航发展基金", "其他税费", "合计"]
    values = ["CNY 1000.00", "YQ 40.00", "9%", "85.87", "CN 50.00", "0.00", "CNY 1090.00"]
    boxes = [
        left(150, 20, "电子发票（航空运输电子客票行程单）"),
        left(420, 20, "发票号码：25112000000012345678"),
        left(420, 35, "填开日期：2025年03月01日"),
        left(20, 60, "旅客姓名"),
        left(20, 72, "张三"),
        left(20, 200, "填开单位：某某航空票务有限公司"),
        left(20, 220, "购买方名称：苏州信泰宜合信息技术有限公司"),
        left(330, 220, "统一社会信用代码/纳税人识别号：91320594769869645C"),
    ]
    boxes += [left(40 + 80 * n, 150, label) for n, label in enumerate(labels)]
    boxes += [left(40 + 80 * n, 162, value) for n, value in enumerate(values)]
    inv = _invoice(digital_layout.extract(boxes))
    assert inv.issue_date.isoformat() == "2025-03-01"
    assert inv.seller.name == "某某航空票务有限公司"
    assert inv.buyer.tax_id == "91320594769869645C"
    assert (inv.total, inv.tax, inv.amount) == (109000, 8587, 100413)
    assert [(i.tax_rate, i.amount, i.tax) for i in inv.items] == [
        ("0.09", 95413, 8587),
        ("nontaxable", 5000, 0),
    ]


def test_ticket_qr_amount_is_the_total() -> None:
    from fapiao.parse.ofd_crosscheck import parse_payload

    qr = parse_payload("01,51,,25119110061000231489,391.00,20250102,,ABCD,")
    assert qr is not None and qr.amount_is_total and qr.kind is Kind.DIGITAL_NORMAL
    older = parse_payload("01,10,032002000111,12345678,100.00,20250102,12345678901234567890,")
    assert older is not None and not older.amount_is_total


def test_sales_list_pages_replace_the_see_list_line() -> None:
    from fapiao.model import Party
    from fapiao.parse.pdf_pages import group, merge

    seller = Party("某某贸易有限公司", "913202113545926568")
    first = Fields(title="江苏增值税电子普通发票", code="032001900111", number="12345678")
    first.seller, first.amount, first.tax, first.total = seller, "300.00", "39.00", "339.00"
    first.items = [
        {"name": "(详见销货清单)", "amount": "300.00", "tax_rate": "13%", "tax": "39.00"}
    ]
    listing = Fields(title="销售货物或者提供应税劳务、服务清单")
    listing.items = [
        {"name": "*纸制品*打印纸", "amount": "100.00", "tax_rate": "13%", "tax": "13.00"},
        {"name": "*文具*签字笔", "amount": "200.00", "tax_rate": "13%", "tax": "26.00"},
        {"name": "小 计", "amount": "300.00", "tax_rate": "", "tax": "39.00"},
    ]
    other = Fields(title="江苏增值税电子普通发票", code="032001900111", number="12345679")
    groups = group([(0, first), (1, listing), (2, other)])
    assert [(g.first, len(g.pages)) for g in groups] == [(0, 2), (2, 1)]
    merged = merge(groups[0].pages)
    assert [i["name"] for i in merged.items] == ["*纸制品*打印纸", "*文具*签字笔"]
    assert (merged.number, merged.total, merged.seller) == ("12345678", "339.00", seller)


def test_a_wrapped_name_keeps_its_order_when_runs_sit_at_slightly_different_heights() -> None:
    items = row(162.4, "*餐饮服务*", "47.17", "6%", "2.83")
    items += [left(62, 161.6, "餐饮服务"), left(13, 173, "（堂食）")]
    fields = digital_layout.extract(page(items, footer("47.17", "2.83", "50.00", "伍拾圆整")))
    assert fields is not None and fields.items[0]["name"] == "*餐饮服务*餐饮服务（堂食）"


def test_freight_table_between_the_items_and_the_totals_ends_the_items() -> None:
    items = row(162, "*运输服务*道路货物运输服务", "1000.00", "9%", "90.00")
    labels = ["运输工具种类", "运输工具牌号", "起运地", "到达地", "运输货物名称"]
    values = ["公路运输", "苏E12345", "苏州", "无锡", "电子元件"]
    items += [left(20 + 100 * n, 200, t) for n, t in enumerate(labels)]
    items += [left(20 + 100 * n, 212, t) for n, t in enumerate(values)]
    boxes = page(items, footer("1000.00", "90.00", "1090.00", "壹仟零玖拾圆整"))
    inv = _invoice(digital_layout.extract(boxes))
    assert [i.name for i in inv.items] == ["*运输服务*道路货物运输服务"]
    assert (inv.amount, inv.tax, inv.total) == (100000, 9000, 109000)


def test_names_in_a_font_without_unicode_map_send_the_page_to_ocr() -> None:
    from reportlab.pdfbase.ttfonts import TTFont

    from fapiao_dev.samples.render_pdf import CJK_FONT_FILE

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    pdfmetrics.registerFont(TTFont("Values", CJK_FONT_FILE, subfontIndex=0))
    boxes = page(
        row(162, "*汽油*车用汽油", "207.12", "13%", "26.93"),
        footer("207.12", "26.93", "234.05", "贰佰叁拾肆圆零伍分"),
    )
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 397))
    names = {"苏州信泰宜合信息技术有限公司", "无锡友达加油服务有限公司", "*汽油*车用汽油", "于芬"}
    for box in boxes:
        c.setFont("Values" if box.text in names else FONT, 7)
        c.drawString(box.x0, 397 - box.y1 + 1, box.text)
    c.save()
    data = buf.getvalue().replace(b"/ToUnicode", b"/ToUnicodX")
    [parsed] = pdf.parse(data)
    assert parsed.fields["seller.name"].source == "ocr"
    assert parsed.fields["seller.name"].value == "无锡友达加油服务有限公司"
    assert parsed.fields["number"].value == "25322000000622032799"


def test_scanned_pages_of_one_invoice_make_one_invoice() -> None:
    import pypdfium2 as pdfium

    first = header() + [left(x, 151, t) for x, t in TABLE]
    first += row(162, "*汽油*车用汽油", "100.00", "13%", "13.00")
    first += row(175, "*汽油*车用柴油", "200.00", "13%", "26.00")
    second = header() + [left(x, 151, t) for x, t in TABLE]
    second += row(162, "*润滑油*机油", "50.00", "13%", "6.50")
    second += footer("350.00", "45.50", "395.50", "叁佰玖拾伍圆伍角")
    doc = pdfium.PdfDocument(_pdf([first, second]))
    pictures = [doc[n].render(scale=150 / 72).to_pil().convert("RGB") for n in range(2)]
    buf = io.BytesIO()
    pictures[0].save(buf, "PDF", resolution=150, save_all=True, append_images=pictures[1:])
    [parsed] = pdf.parse(buf.getvalue())
    assert {r.source for r in parsed.fields.values()} <= {"ocr", "derived"}
    assert [parsed.fields[f"items[{n}].amount"].value for n in (1, 2, 3)] == [
        "100.00",
        "200.00",
        "50.00",
    ]
    assert parsed.fields["total"].value == "395.50"
    assert parsed.fields["seller.name"].value == "无锡友达加油服务有限公司"
    assert parsed.fields["kind"].value == "digital_normal"


def test_spaced_out_title_and_labels() -> None:
    boxes = page(
        row(162, "*住宿服务*住宿费", "475.25", "1%", "4.75"),
        footer("475.25", "4.75", "480.00", "肆佰捌拾圆整"),
    )
    boxes = [
        Box("电 子 发 票 （ 增 值 税 专 用 发 票 ）", b.x0, b.y0, b.x1, b.y1)
        if "电子发票" in b.key
        else Box("发 票 号 码 ：", b.x0, b.y0, b.x1, b.y1)
        if b.key.startswith("发票号码")
        else b
        for b in boxes
    ]
    inv = _invoice(digital_layout.extract(boxes))
    assert inv.kind is Kind.DIGITAL_SPECIAL and inv.number == "25322000000622032799"


def _glyphs(box: Box) -> list[Box]:
    """A run set glyph by glyph, as some producers write their text."""
    out, x = [], box.x0
    for ch in box.text:
        out.append(Box(ch, x, box.y0, x + _width(ch), box.y1))
        x += _width(ch) + 0.5
    return out


def test_values_set_glyph_by_glyph() -> None:
    boxes = page(
        row(162, "*住宿服务*住宿费", "475.25", "1%", "4.75"),
        footer("475.25", "4.75", "480.00", "肆佰捌拾圆整"),
    )
    split = {"25322000000622032799", "苏州信泰宜合信息技术有限公司", "无锡友达加油服务有限公司"}
    split |= {"91320594769869645C", "913202113545926568"}
    boxes = [g for b in boxes for g in (_glyphs(b) if b.text in split else [b])]
    inv = _invoice(digital_layout.extract(boxes))
    assert inv.number == "25322000000622032799"
    assert inv.buyer.name == "苏州信泰宜合信息技术有限公司"
    assert inv.seller.name == "无锡友达加油服务有限公司"
    assert (inv.buyer.tax_id, inv.seller.tax_id) == ("91320594769869645C", "913202113545926568")


def test_red_invoice_names_the_blue_one_it_reverses() -> None:
    remarks = (
        "被红冲蓝字数电发票号码：25322000000611111111 红字发票信息确认单编号：32020125121100012345"
    )
    boxes = page(
        row(162, "*汽油*车用汽油", "-207.12", "13%", "-26.93"),
        footer("-207.12", "-26.93", "-234.05", "（负数）贰佰叁拾肆圆零伍分", remarks),
    )
    inv = _invoice(digital_layout.extract(boxes))
    assert (inv.amount, inv.tax, inv.total) == (-20712, -2693, -23405)
    assert inv.status.value == "red"
    assert inv.original is not None and inv.original.number == "25322000000611111111"


def test_air_itinerary_with_values_beside_their_labels() -> None:
    boxes = [
        left(150, 20, "电子发票（航空运输电子客票行程单）"),
        left(420, 20, "发票号码：25112000000012345678"),
        left(420, 35, "填开日期：2025年03月01日"),
        left(20, 220, "购买方名称：苏州信泰宜合信息技术有限公司"),
        left(330, 220, "统一社会信用代码/纳税人识别号：91320594769869645C"),
    ]
    pairs = [("票价", "1000.00"), ("燃油附加费", "40.00"), ("增值税税额", "85.87")]
    pairs += [("民航发展基金", "50.00"), ("合计", "1090.00")]
    for n, (label, value) in enumerate(pairs):
        boxes += [left(20, 100 + 14 * n, label), left(80, 100 + 14 * n, "CNY")]
        boxes += [left(100, 100 + 14 * n, value)]
    inv = _invoice(digital_layout.extract(boxes))
    assert (inv.total, inv.tax, inv.amount) == (109000, 8587, 100413)


def test_discount_line_that_lost_both_minus_signs_is_put_right_by_the_totals() -> None:
    items = row(162, "*移动通信设备*手机", "8848.67", "13%", "1150.33")
    items += row(175, "*移动通信设备*手机", "637.17", "13%", "82.83")
    totals = footer("8211.50", "1067.50", "9279.00", "玖仟贰佰柒拾玖圆整")
    inv = _invoice(digital_layout.extract(page(items, totals)))
    assert [(i.amount, i.tax) for i in inv.items] == [(884867, 115033), (-63717, -8283)]


def test_a_20_digit_number_after_its_label_is_enough_to_know_the_layout() -> None:
    boxes = [left(439, 32, "发票号码"), left(477, 32, ":"), left(484, 32, "25127000000546906425")]
    boxes += [left(58, 262, "合 计"), left(402, 262, "¥100.00"), left(554, 262, "¥3.00")]
    boxes += [left(412, 280, "（小写）"), left(441, 280, "¥"), left(448, 280, "103.00")]
    fields = digital_layout.extract(boxes)
    assert fields is not None and fields.digital
    assert (fields.number, fields.total) == ("25127000000546906425", "103.00")


def test_values_set_in_the_middle_of_a_wrapped_name() -> None:
    items = [left(13, 160, "*软饮料*农夫山泉 饮用")]
    items += row(171, "水 饮用天然水550ml*12", "22.72", "13%", "2.95")
    items += [left(13, 182, "瓶*2包 塑膜装"), left(13, 195, "*餐饮服务*餐饮")]
    items += row(206, "服务", "47.17", "6%", "2.83")
    fields = digital_layout.extract(
        page(items, footer("69.89", "5.78", "75.67", "柒拾伍圆陆角柒分"))
    )
    assert fields is not None
    assert [i["name"] for i in fields.items] == [
        "*软饮料*农夫山泉 饮用水 饮用天然水550ml*12瓶*2包 塑膜装",
        "*餐饮服务*餐饮服务",
    ]


def test_totals_run_into_one_box_with_their_label() -> None:
    items = row(162, "*住宿服务*住宿费", "475.25", "1%", "4.75")
    totals = [b for b in footer("475.25", "4.75", "480.00", "肆佰捌拾圆整") if b.y0 != 262]
    totals.append(left(58, 262, "合 计 ¥475.25 ¥4.75"))
    fields = digital_layout.extract(page(items, totals))
    assert fields is not None and (fields.amount, fields.tax) == ("475.25", "4.75")


def test_totals_without_a_table_header_read_in_order() -> None:
    boxes = [b for b in page([], footer("475.25", "4.75", "480.00", "肆佰捌拾圆整"), [])]
    fields = digital_layout.extract(boxes)
    assert fields is not None and (fields.amount, fields.tax, fields.total) == (
        "475.25",
        "4.75",
        "480.00",
    )


def test_the_same_page_twice_is_not_a_continuation() -> None:
    one = page(
        row(162, "*汽油*车用汽油", "100.00", "13%", "13.00"),
        footer("100.00", "13.00", "113.00", "壹佰壹拾叁圆整"),
    )
    parsed = pdf.parse(_pdf([one, one]))
    assert [len(p.invoice.items) for p in parsed if p.invoice] == [1, 1]
