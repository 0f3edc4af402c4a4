"""The older invoice layout (增值税电子普通/专用发票, paper 增值税发票, 通行费 通用发票) read from
positioned boxes built here, and the real older-layout samples in tests/data/real/older read whole."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from fapiao.codec import invoice_to_json
from fapiao.parse import older_layout, parse_bytes
from fapiao.parse.layout import Box, Fields, to_reads
from fapiao.parse.reading import document

REAL = Path(__file__).parent / "data" / "real" / "older"
H = 9.0  # the text height of the fixtures, in points

# Item table header of the goods invoice: label -> left edge.
GOODS = {
    "货物或应税劳务、服务名称": 44,
    "规格型号": 180,
    "单位": 226,
    "数 量": 275,
    "单 价": 344,
    "金 额": 423,
    "税率": 483,
    "税 额": 536,
}


def box(text: str, x: float, y: float, width: float | None = None) -> Box:
    """A box whose top left is (x, y); its width follows its length unless given."""
    w = width if width is not None else 0.6 * H * max(1, len(text))
    return Box(text, x, y, x + w, y + H)


def right(text: str, x1: float, y: float) -> Box:
    """A number printed flush right, ending at x1."""
    w = 0.5 * H * len(text)
    return Box(text, x1 - w, y, x1, y + H)


def page(
    *,
    header: dict[str, float] | None = None,
    rows: list[Box] | None = None,
    buyer: list[Box] | None = None,
    top: list[Box] | None = None,
    totals: list[Box] | None = None,
) -> list[Box]:
    """An older e-invoice: title and header labels, the buyer block beside the 密码区, the item
    table, totals and the seller block beside the 备注. Values are passed in by the test."""
    boxes = [
        Box("上海增值税电子普通发票", 190, 25, 415, 43),
        box("机器编号:", 31, 65),
        box("661933603397", 75, 65),
        box("发票代码:", 435, 13),
        box("031002100711", 475, 13),
        box("发票号码:", 435, 31),
        box("63199034", 475, 31),
        box("开票日期:", 435, 48),
        box("年", 500, 48),
        box("月", 522, 48),
        box("日", 543, 48),
        box("2022", 478, 49),
        box("03", 509, 49),
        box("01", 530, 49),
        box("校 验 码:", 435, 65),
        box("85108 63460 10507 97791", 475, 66),
        box("名\u3000\u3000\u3000\u3000称:", 48, 87),
        box("纳税人识别号:", 48, 102),
        box("地 址、电 话:", 48, 117),
        box("开户行及账号:", 48, 132),
        box("密", 352, 90),
        box("码", 352, 110),
        box("区", 352, 129),
        box("<1-657<>5-4/6+2>15*24+7723*", 382, 88),
        box("8<6*85+-4**19<1<4-94224/64-", 382, 103),
        box("076/-40/1322-5406<-907></3<", 382, 118),
        box("57+8/*4/8//25<*5>83>4-*2->7", 382, 133),
        box("合 计", 61, 258),
        box("价税合计(大写)", 61, 276),
        box("(小写)", 449, 276),
        box("名 称:", 48, 296),
        box("纳税人识别号:", 48, 310),
        box("地 址、电 话:", 48, 324),
        box("开户行及账号:", 48, 338),
        box("备", 351, 302),
        box("注", 351, 332),
        box("阔客（上海）餐饮服务有限公司", 107, 295),
        box("91310101MA1FPAPM5H", 107, 310),
        box("开票人:", 314, 357),
        box("徐煜", 347, 357),
    ]
    for label, x in (header or GOODS).items():
        boxes.append(box(label, x, 148))
    boxes += rows if rows is not None else _one_row()
    boxes += (
        buyer
        if buyer is not None
        else [box("苏州信泰宜合信息技术有限公司", 108, 87), box("91320594769869645C", 109, 102)]
    )
    boxes += top or []
    boxes += (
        totals
        if totals is not None
        else [right("¥375.47", 477, 261), right("¥22.53", 589, 261), right("¥398.00", 519, 277)]
    )
    boxes.append(box("叁佰玖拾捌圆整", 190, 276))
    return boxes


def _one_row(y: float = 162, name: str = "*餐饮服务*餐饮服务") -> list[Box]:
    return [
        box(name, 28, y),
        right("1", 320, y),
        right("375.47", 391, y),
        right("375.47", 479, y),
        right("6%", 501, y),
        right("22.53", 591, y),
    ]


def read(boxes: list[Box]) -> Fields:
    fields = older_layout.extract(boxes)
    assert fields is not None
    return fields


def test_the_template_and_its_data_layer_give_every_field() -> None:
    f = read(page())
    assert (f.code, f.number, f.check_code) == ("031002100711", "63199034", "85108634601050797791")
    assert f.title == "上海增值税电子普通发票"
    assert f.kind == "vat_electronic_normal"
    assert (f.buyer.name, f.buyer.tax_id) == ("苏州信泰宜合信息技术有限公司", "91320594769869645C")
    assert (f.seller.name, f.seller.tax_id) == (
        "阔客（上海）餐饮服务有限公司",
        "91310101MA1FPAPM5H",
    )
    assert (f.amount, f.tax, f.total, f.words) == ("375.47", "22.53", "398.00", "叁佰玖拾捌圆整")
    assert f.items == [
        {
            "name": "*餐饮服务*餐饮服务",
            "quantity": "1",
            "unit_price": "375.47",
            "amount": "375.47",
            "tax_rate": "6%",
            "tax": "22.53",
        }
    ]
    assert f.issuer == "徐煜"
    reads = to_reads(f, "text")
    assert reads["issue_date"].value == "2022-03-01"
    assert reads["items[1].tax_rate"].value == "0.06"


def test_date_split_between_template_and_data_layer_and_whole() -> None:
    split = [b for b in page() if b.key not in ("2022", "03", "01")] + [
        box("2019", 478, 49),
        box("07", 510, 49),
        box("20", 531, 49),
    ]
    assert to_reads(read(split), "text")["issue_date"].value == "2019-07-20"
    whole = [b for b in page() if b.key not in ("2022", "03", "01", "年", "月", "日")]
    whole.append(box("2018年03月23日", 478, 48))
    assert to_reads(read(whole), "text")["issue_date"].value == "2018-03-23"
    # overlapping layers merged by the text extraction repeat pieces of both
    garbled = [b for b in whole if "2018" not in b.key] + [
        box("年20", 500, 48),
        box("年2022 03 01 月", 502, 50),
        box("3 0\r\n月", 522, 50),
    ]
    assert to_reads(read(garbled), "text")["issue_date"].value == "2022-03-01"


def test_labels_split_by_ocr_are_joined() -> None:
    """OCR reads `名　　　　称：个人` as `名` and `称：个人`, `合　　计` as `合` and `计`."""
    boxes = [b for b in page(buyer=[]) if not b.key.startswith(("名称", "合计"))]
    boxes += [
        box("名", 48, 87),
        box("称：个人", 90, 87),
        box("名", 48, 296),
        box("称：阔客（上海）餐饮服务有限公司", 90, 295),
        box("合", 61, 258),
        box("计", 100, 258),
    ]
    f = read(boxes)
    assert (f.buyer.name, f.buyer.tax_id) == ("个人", "")
    assert f.seller.name == "阔客（上海）餐饮服务有限公司"
    assert (f.amount, f.tax) == ("375.47", "22.53")
    assert len(f.items) == 1


def test_cipher_lines_are_never_values() -> None:
    """A buyer without a tax ID: the 密码区 line on its row (digits and +-*/<>) is not taken."""
    cipher = box("91320594769869645<+*/", 109, 102)
    f = read(page(buyer=[box("个人", 108, 87), cipher]))
    assert (f.buyer.name, f.buyer.tax_id) == ("个人", "")
    assert all("<" not in str(v) for v in (f.code, f.number, f.check_code, f.remarks))


def test_check_code_in_groups_and_machine_number_is_not_the_code() -> None:
    boxes = [b for b in page() if b.key not in ("发票代码:", "031002100711")]
    f = read(boxes)
    assert f.check_code == "85108634601050797791"
    assert f.code != "661933603397"


def test_values_placed_off_their_labels_lines() -> None:
    """The data layer is placed into the cells, not onto the labels' lines: a value lower than
    its label by most of a line still belongs to the label whose row it is nearest."""
    f = read(
        page(
            buyer=[
                box("苏州信泰宜合信息技术有限公司", 108, 87 + 0.9 * H),
                box("91320594769869645C", 109, 102 + 0.7 * H),
                box("苏州工业园区金鸡湖大道1355号 0512-62621981", 108, 117 + 0.8 * H),
            ]
        )
    )
    assert (f.buyer.name, f.buyer.tax_id) == ("苏州信泰宜合信息技术有限公司", "91320594769869645C")


def test_wrapped_names_and_discount_lines() -> None:
    rows = [
        box("*服装*HAPPY HEART/查尔斯桃心", 28, 162),
        right("96.46", 479, 162),
        right("13%", 501, 162),
        right("12.54", 591, 162),
        box("休闲裤男女情侣同款", 28, 172),
        box("标灯芯绒宽松", 28, 182),
        box("*服装*HAPPY HEART/查尔斯桃心", 28, 192),
        right("-0.01", 479, 192),
        right("13%", 501, 192),
        right("0.00", 591, 192),
        box("休闲裤男女情侣同款", 28, 202),
        box("标灯芯绒宽松", 28, 212),
    ]
    f = read(page(rows=rows, totals=[right("¥96.45", 477, 261), right("¥12.54", 589, 261)]))
    assert [i["name"] for i in f.items] == [
        "*服装*HAPPY HEART/查尔斯桃心休闲裤男女情侣同款标灯芯绒宽松"
    ] * 2
    assert [i["amount"] for i in f.items] == ["96.46", "-0.01"]
    assert [i["tax"] for i in f.items] == ["12.54", "0.00"]
    assert (f.amount, f.tax) == ("96.45", "12.54")


def test_exempt_and_starred_tax() -> None:
    rows = [
        box("*蔬菜*白菜", 28, 162),
        right("100.00", 479, 162),
        right("免税", 501, 162),
        right("***", 591, 162),
    ]
    f = read(page(rows=rows, totals=[right("¥100.00", 477, 261), right("***", 589, 261)]))
    reads = to_reads(f, "text")
    assert reads["items[1].tax_rate"].value == "exempt"
    assert reads["items[1].tax"].value == "0.00"
    assert reads["tax"].value == "0.00"


def test_toll_table_columns() -> None:
    header = {
        "项目名称": 30,
        "车牌号": 110,
        "类型": 170,
        "通行日期起": 220,
        "通行日期止": 300,
        "金额": 400,
        "税率": 470,
        "税额": 530,
    }
    rows = [
        box("*经营租赁*通行费", 28, 162),
        box("苏E12345", 112, 162),
        box("货车", 172, 162),
        box("20190701", 222, 162),
        box("20190731", 302, 162),
        right("97.09", 460, 162),
        right("3%", 500, 162),
        right("2.91", 590, 162),
        box("*经营租赁*通行费", 28, 174),
        box("苏E12345", 112, 174),
        box("货车", 172, 174),
        box("20190801", 222, 174),
        box("20190801", 302, 174),
        right("10.00", 460, 174),
        right("不征税", 505, 174),
        right("***", 590, 174),
    ]
    f = read(page(header=header, rows=rows))
    assert [(i["name"], i.get("spec"), i["amount"]) for i in f.items] == [
        ("*经营租赁*通行费", "苏E12345", "97.09"),
        ("*经营租赁*通行费", "苏E12345", "10.00"),
    ]
    reads = to_reads(f, "text")
    assert reads["items[1].tax_rate"].value == "0.03"
    assert (reads["items[2].tax_rate"].value, reads["items[2].tax"].value) == ("nontaxable", "0.00")


def test_provincial_toll_invoice_without_tax_columns_is_other() -> None:
    boxes = [
        b for b in page(header={"货物或应税劳务、服务名称": 60, "数量": 297, "金额（元）": 471})
    ]
    boxes = [b for b in boxes if "上海" not in b.key or "餐饮" in b.key]
    boxes += [
        Box("江苏省车辆通行费通用（电子）发票", 131, 46, 417, 64),
        box("车辆通行费", 92, 162),
        right("1", 304, 162),
        right("28.00", 505, 162),
    ]
    f = read(
        [b for b in boxes if b.key not in ("375.47", "6%", "22.53", "*餐饮服务*餐饮服务", "1")]
        + [right("1", 304, 162)]
    )
    reads = to_reads(f, "text")
    assert reads["kind"].value == "other"
    assert (reads["items[1].tax_rate"].value, reads["items[1].tax"].value) == ("nontaxable", "0.00")
    assert reads["tax"].value == "0.00"


def test_paper_invoice_code_alone_and_number_after_no() -> None:
    boxes = [b for b in page() if not b.key.startswith(("发票代码", "发票号码", "031002", "63199"))]
    boxes = [b for b in boxes if "上海" not in b.key or "餐饮" in b.key]
    boxes += [
        Box("深圳增值税普通发票", 190, 10, 400, 28),
        box("044031800104", 80, 14),
        box("No41108527", 440, 14),
    ]
    f = read(boxes)
    assert (f.code, f.number, f.kind) == ("044031800104", "41108527", "vat_normal")


def test_digital_invoice_is_not_this_layout() -> None:
    boxes = [box("发票号码:25127000000546906425", 400, 20), box("名称:某公司", 40, 80)]
    assert older_layout.extract(boxes) is None
    assert older_layout.extract([box("合计", 10, 10), box("名称:甲", 10, 30)]) is None


def _fields(want: dict[str, object]) -> dict[str, object]:
    keys = ("kind", "code", "number", "issue_date", "amount", "tax", "total", "check_code")
    out = {k: want.get(k) for k in keys}
    for role in ("seller", "buyer"):
        for key in ("name", "tax_id"):
            out[f"{role}.{key}"] = want[role][key]  # type: ignore[index]
    for n, item in enumerate(want["items"]):  # type: ignore[arg-type]
        for key in ("name", "tax_rate", "amount", "tax"):
            out[f"items[{n}].{key}"] = item[key]
    return out


def _lookup(doc: object, path: str) -> object:
    for part in path.replace("]", "").replace("[", ".").split("."):
        if isinstance(doc, list):
            doc = doc[int(part)] if int(part) < len(doc) else None
        elif isinstance(doc, dict):
            doc = doc.get(part)
    return doc


def _norm(value: object, ocr: bool) -> str | None:
    if value is None:
        return None
    text = "".join(str(value).split())
    # A photo does not tell a half-width bracket from a full-width one (dot-matrix print).
    return text.replace("（", "(").replace("）", ")") if ocr else text


@pytest.mark.parametrize(
    "expected", sorted(REAL.glob("*.expected.json")), ids=lambda p: p.name.split(".")[0]
)
def test_real_older_invoice_parses_whole(expected: Path) -> None:
    source = expected.with_name(expected.name.removesuffix(".expected.json"))
    parsed = parse_bytes(source.read_bytes())[0]
    assert parsed.invoice is not None, parsed.findings
    got = invoice_to_json(parsed.invoice)
    want = json.loads(expected.read_text("utf-8"))
    ocr = source.suffix != ".pdf"
    wrong = {
        path: (value, _lookup(got, path))
        for path, value in _fields(want).items()
        if _norm(_lookup(got, path), ocr) != _norm(value, ocr)
    }
    assert wrong == {}
    assert len(got["items"]) == len(want["items"])
    assert document(parsed.fields)["number"] == want["number"]


def _pdf(pages: list[list[Box]]) -> bytes:
    """The boxes drawn as a PDF text layer (numbers flush right at their box's right edge)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    from fapiao.parse.older_geometry import is_number

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(600, 400))
    for boxes in pages:
        for b in boxes:
            c.setFont("STSong-Light", 8)
            if is_number(b.key) or b.key.endswith("%"):
                c.drawRightString(b.x1, 400 - b.y1 + 1, b.text)
            else:
                c.drawString(b.x0, 400 - b.y1 + 1, b.text)
        c.showPage()
    c.save()
    return buf.getvalue()


def _list_page(rows: list[tuple[str, str, str, str]], *, last: bool) -> list[Box]:
    header = {
        "序号": 30,
        "货物（劳务）名称": 60,
        "单位": 226,
        "金额": 423,
        "税率": 483,
        "税额": 536,
    }
    boxes = [Box("销售货物或者提供应税劳务、服务清单", 150, 20, 450, 36)]
    boxes += [box(label, x, 60) for label, x in header.items()]
    y = 75.0
    for n, (name, amount, rate, tax) in enumerate(rows, start=1):
        boxes += [right(str(n), 40, y), box(name, 60, y), right(amount, 479, y)]
        boxes += [right(rate, 501, y), right(tax, 591, y)]
        y += 12
    boxes.append(box("小计", 60, y))
    if last:
        boxes.append(box("总计", 60, y + 12))
    return boxes


def test_items_listed_on_the_following_pages_replace_the_list_line() -> None:
    invoice = page(rows=_one_row(name="（详见销货清单）"))
    data = _pdf(
        [
            invoice,
            _list_page([("*餐饮服务*午餐", "300.00", "6%", "18.00")], last=False),
            _list_page(
                [
                    ("*餐饮服务*晚餐", "80.00", "6%", "4.80"),
                    ("*餐饮服务*晚餐", "-4.53", "6%", "-0.27"),
                ],
                last=True,
            ),
        ]
    )
    [parsed] = parse_bytes(data)
    assert parsed.invoice is not None, parsed.findings
    got = invoice_to_json(parsed.invoice)
    assert [(i["name"], i["amount"], i["tax"]) for i in got["items"]] == [
        ("*餐饮服务*午餐", "300.00", "18.00"),
        ("*餐饮服务*晚餐", "80.00", "4.80"),
        ("*餐饮服务*晚餐", "-4.53", "-0.27"),
    ]
    assert (got["code"], got["number"], got["issue_date"]) == (
        "031002100711",
        "63199034",
        "2022-03-01",
    )
    assert (got["amount"], got["tax"], got["total"]) == ("375.47", "22.53", "398.00")


def test_the_list_line_stays_when_no_list_follows() -> None:
    [parsed] = parse_bytes(_pdf([page(rows=_one_row(name="（详见销货清单）"))]))
    assert parsed.invoice is not None, parsed.findings
    assert [i.name for i in parsed.invoice.items] == ["（详见销货清单）"]


def test_red_invoice_totals_and_the_blue_one_in_remarks() -> None:
    rows = [
        box("*餐饮服务*餐饮服务", 28, 162),
        right("-375.47", 479, 162),
        right("6%", 501, 162),
        right("-22.53", 591, 162),
    ]
    totals = [right("¥-375.47", 477, 261), right("¥-22.53", 589, 261)]
    totals.append(right("¥-398.00", 519, 277 + 0.9 * H))  # off its label's row
    boxes = page(rows=rows, totals=totals)
    boxes.append(box("对应正数发票代码:031002100611号码:12345678", 370, 310))
    reads = to_reads(read(boxes), "text")
    assert (reads["amount"].value, reads["tax"].value) == ("-375.47", "-22.53")
    assert reads["total"].value == "-398.00" and reads["total"].source == "text"
    assert reads["status"].value == "red"
    assert (reads["original.code"].value, reads["original.number"].value) == (
        "031002100611",
        "12345678",
    )


def test_ocr_scores_become_the_fields_confidence() -> None:
    rows = _one_row()
    unsure = next(b for b in rows if b.x1 == 479)
    unsure.score = 0.61
    buyer = [box("苏州信泰宜合信息技术有限公司", 108, 87), box("91320594769869645C", 109, 102)]
    buyer[1].score = 0.72
    reads = to_reads(read(page(rows=rows, buyer=buyer)), "ocr")
    assert reads["items[1].amount"].confidence == 0.61
    assert reads["buyer.tax_id"].confidence == 0.72
    assert reads["buyer.name"].confidence == 1.0


def test_a_long_name_wrapped_in_its_cell() -> None:
    small = 0.6 * H
    buyer = [
        Box("苏州信泰宜合信息技术有限公司工业园区", 108, 86, 230, 86 + small),
        Box("第二分公司", 108, 86 + small + 0.5, 150, 86 + 2 * small + 0.5),
        box("91320594769869645C", 109, 102),
    ]
    f = read(page(buyer=buyer))
    assert f.buyer.name == "苏州信泰宜合信息技术有限公司工业园区第二分公司"
    assert f.buyer.tax_id == "91320594769869645C"


def test_header_labels_read_as_one_box_are_cut_apart() -> None:
    """OCR reads close header labels as one box (`金额 税率`); each still opens its column."""
    header = {k: v for k, v in GOODS.items() if k not in ("金 额", "税率")}
    boxes = [*page(header=header), Box("金 额 税率", 423, 148, 505, 148 + H)]
    f = read(boxes)
    assert [(i["amount"], i["tax_rate"], i["tax"]) for i in f.items] == [("375.47", "6%", "22.53")]


def test_found_by_two_of_the_cipher_labels_alone() -> None:
    """A scan whose header beside the QR is left unread and whose 区 OCR misread (冈)."""
    header = ("发票代码", "发票号码", "开票日期", "校验码", "机器编号", "0310", "6319", "6619")
    boxes = [b for b in page() if not b.key.startswith(header) and b.key != "区"]
    boxes.append(box("冈", 352, 129))
    f = read(boxes)
    assert f.buyer.tax_id == "91320594769869645C" and f.items


@pytest.mark.parametrize("dy", [-0.8 * H, 0.9 * H, 1.1 * H])
def test_the_whole_data_layer_placed_off_the_template(dy: float) -> None:
    """Printers and issuing software place the data layer a little off the template's rows: every
    value moved together by most of a line still reads the same."""
    moved = [
        Box(b.text, b.x0, b.y0 + dy, b.x1, b.y1 + dy)
        for b in [
            *_one_row(),
            right("¥375.47", 477, 261),
            right("¥22.53", 589, 261),
            right("¥398.00", 519, 277),
            box("苏州信泰宜合信息技术有限公司", 108, 87),
            box("91320594769869645C", 109, 102),
        ]
    ]
    values = {b.key for b in moved}
    boxes = [b for b in page(rows=[], buyer=[], totals=[]) if b.key not in values] + moved
    reads = to_reads(read(boxes), "text")
    want = to_reads(read(page()), "text")
    for path in ("buyer.name", "buyer.tax_id", "amount", "tax", "total", "items[1].amount"):
        assert reads[path].value == want[path].value, path
    assert reads["total"].source == "text"
    assert reads["items[1].name"].value == "*餐饮服务*餐饮服务"
