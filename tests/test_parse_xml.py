"""数电票 XML and the older edrm / XBRL XML: kinds, red invoices, rate markers, spellings, sources."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from fapiao.model import Identity, Kind, Status
from fapiao.parse import parse_bytes, xml_digital, xml_edrm
from fapiao.parse.safety import xml_head
from fapiao.validate import Context, validate

CTX = Context(today=dt.date(2030, 1, 1))
SELLER = "91110108690017781B"
BUYER = "91460300MAA92DJN95"


def digital(
    *,
    number: str = "24112000000048542163",
    eiid: str | None = None,
    blue: str = "Y",
    vat: str = "01",
    totals: tuple[str, str, str] = ("100.00", "13.00", "113.00"),
    words: str = "壹佰壹拾叁圆整",
    items: str = "",
    specific: str = "",
    remark: str = "",
    labels: str = "",
    total_tag: str = "TotalTax-includedAmount",
    root: str = "<EInvoice>",
) -> bytes:
    items = items or (
        "<IssuItemInformation><ItemName>*信息技术服务*软件开发</ItemName><Amount>100.00</Amount>"
        "<TaxRate>0.13</TaxRate><ComTaxAm>13.00</ComTaxAm></IssuItemInformation>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"{root}<Header><EIid>{eiid or number}</EIid><InherentLabel>"
        f"<InIssuType><LabelCode>{blue}</LabelCode></InIssuType>"
        f"<GeneralOrSpecialVAT><LabelCode>{vat}</LabelCode></GeneralOrSpecialVAT>"
        f"</InherentLabel><UndefinedLabel>{labels}</UndefinedLabel></Header><EInvoiceData>"
        f"<SellerInformation><SellerIdNum>{SELLER}</SellerIdNum><SellerName>北京某某科技有限公司</SellerName>"
        f"</SellerInformation><BuyerInformation><BuyerIdNum>{BUYER}</BuyerIdNum>"
        "<BuyerName>海南某某有限公司</BuyerName></BuyerInformation><BasicInformation>"
        f"<TotalAmWithoutTax>{totals[0]}</TotalAmWithoutTax><TotalTaxAm>{totals[1]}</TotalTaxAm>"
        f"<{total_tag}>{totals[2]}</{total_tag}>"
        f"<TotalTax-includedAmountInChinese>{words}</TotalTax-includedAmountInChinese>"
        f"<Drawer>于某</Drawer></BasicInformation>{items}"
        f"<SpecificInformation>{specific}</SpecificInformation>"
        f"<AdditionalInformation><Remark>{remark}</Remark></AdditionalInformation></EInvoiceData>"
        f"<TaxSupervisionInfo><InvoiceNumber>{number}</InvoiceNumber><IssueTime>2024-05-28</IssueTime>"
        "</TaxSupervisionInfo></EInvoice>"
    ).encode()


def only(data: bytes):
    [parsed] = parse_bytes(data)
    return parsed


def test_blue_special_invoice() -> None:
    parsed = only(digital())
    inv = parsed.invoice
    assert inv is not None and parsed.findings == []
    assert (inv.kind, inv.status, inv.total, inv.issuer) == (
        Kind.DIGITAL_SPECIAL,
        Status.NORMAL,
        11300,
        "于某",
    )
    assert validate(inv, CTX) == []


def test_normal_kind_and_other_spelling_of_the_total() -> None:
    inv = only(digital(vat="02", total_tag="TotaltaxIncludedAmount")).invoice
    assert inv is not None and inv.kind is Kind.DIGITAL_NORMAL and inv.total == 11300


def test_red_invoice_names_its_original_from_red_einvoice() -> None:
    red_item = (
        "<IssuItemInformation><ItemName>*信息技术服务*软件开发</ItemName><Amount>-100.00</Amount>"
        "<TaxRate>0.13</TaxRate><ComTaxAm>-13.00</ComTaxAm></IssuItemInformation>"
    )
    data = digital(
        blue="N",
        totals=("-100.00", "-13.00", "-113.00"),
        words="（负数）壹佰壹拾叁圆整",
        items=red_item,
        specific="<RedEInvoice><OriginalInvoiceCode>24112000000000000001</OriginalInvoiceCode>"
        "<CreditNoteNumber>11010824091002615708</CreditNoteNumber></RedEInvoice>",
    )
    inv = only(data).invoice
    assert inv is not None
    assert inv.status is Status.RED and inv.total == -11300
    assert inv.original == Identity("", "24112000000000000001")
    assert validate(inv, CTX) == []


def test_red_invoice_original_from_the_remark_and_missing_original_is_found() -> None:
    red = {
        "blue": "N",
        "totals": ("-100.00", "-13.00", "-113.00"),
        "words": "（负数）壹佰壹拾叁圆整",
    }
    item = (
        "<IssuItemInformation><ItemName>x</ItemName><Amount>-100.00</Amount>"
        "<TaxRate>13%</TaxRate><ComTaxAm>-13.00</ComTaxAm></IssuItemInformation>"
    )
    inv = only(
        digital(
            **red,
            items=item,
            remark="被红冲蓝字数电票号码：24112000000000000002 红字发票信息确认单编号：1",
        )
    ).invoice
    assert inv is not None and inv.original == Identity("", "24112000000000000002")
    bare = only(digital(**red, items=item)).invoice
    assert bare is not None
    assert "red_without_original" in {f.code for f in validate(bare, CTX)}


def test_rate_markers_and_discount_lines() -> None:
    items = (
        "<IssuItemInformation><ItemName>*餐饮服务*餐费</ItemName><Amount>50.00</Amount>"
        "<TaxRate>免税</TaxRate><ComTaxAm>***</ComTaxAm></IssuItemInformation>"
        "<IssuItemInformation><ItemName>*电信服务*通信费</ItemName><Amount>60.00</Amount>"
        "<TaxRate>*</TaxRate><ComTaxAm>*</ComTaxAm></IssuItemInformation>"
        "<IssuItemInformation><ItemName>*电信服务*通信费</ItemName><Amount>-10.00</Amount>"
        "<TaxRate>不征税</TaxRate><ComTaxAm>*</ComTaxAm></IssuItemInformation>"
    )
    inv = only(digital(totals=("100.00", "0.00", "100.00"), words="壹佰圆整", items=items)).invoice
    assert inv is not None
    assert [i.tax_rate for i in inv.items] == ["exempt", "nontaxable", "nontaxable"]
    assert [i.amount for i in inv.items] == [5000, 6000, -1000]
    assert [i.tax for i in inv.items] == [0, 0, 0]
    assert validate(inv, CTX) == []


def test_margin_taxation_label_makes_the_rate_a_marker() -> None:
    label = "<Label><LabelType>特定征税方式标签</LabelType><LabelName>差额征税</LabelName></Label>"
    inv = only(digital(labels=label)).invoice
    assert inv is not None and inv.items[0].tax_rate == "margin"


def test_namespace_and_utf16_are_read() -> None:
    data = digital(root='<EInvoice xmlns="urn:example:einvoice">')
    assert only(data).invoice is not None
    utf16 = data.decode().replace('encoding="utf-8"', 'encoding="UTF-16"').encode("utf-16")
    assert xml_digital.sniff(utf16)
    inv = only(utf16).invoice
    assert inv is not None and inv.number == "24112000000048542163"


def test_disagreeing_numbers_name_both_sources() -> None:
    parsed = only(digital(eiid="24112000000048549999"))
    [mismatch] = [f for f in parsed.findings if f.code == "source_mismatch"]
    assert mismatch.field == "number"
    assert "24112000000048542163" in mismatch.message_en
    assert "24112000000048549999" in mismatch.message_en
    assert mismatch.is_error


def test_wrong_words_give_the_uppercase_finding() -> None:
    inv = only(digital(words="壹佰壹拾贰圆整")).invoice
    assert inv is not None
    assert [f.code for f in validate(inv, CTX)] == ["uppercase_mismatch"]


def test_missing_totals_are_findings_not_an_invoice() -> None:
    parsed = only(digital(totals=("", "13.00", "abc")))
    assert parsed.invoice is None
    assert {(f.code, f.field) for f in parsed.findings} == {
        ("field_missing", "amount"),
        ("field_invalid", "total"),
    }


EDRM = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<eInvoice xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019" Version="1.0">'
    "<fp:InvoiceCode>033002000211</fp:InvoiceCode><fp:InvoiceNo>83089648</fp:InvoiceNo>"
    "<fp:IssueDate>2020年07月24日</fp:IssueDate><fp:InvoiceCheckCode>16197833567414507415</fp:InvoiceCheckCode>"
    "<fp:Buyer><fp:BuyerName>江苏某某有限公司</fp:BuyerName><fp:BuyerTaxID>91320115MA202UKD7X</fp:BuyerTaxID></fp:Buyer>"
    "<fp:Seller><fp:SellerName>兰溪某某餐厅</fp:SellerName><fp:SellerTaxID>92330781MA2EDMFU50</fp:SellerTaxID></fp:Seller>"
    "<fp:TaxInclusiveTotalAmount>{total}</fp:TaxInclusiveTotalAmount><fp:Note>{note}</fp:Note>"
    "<fp:TaxTotalAmount>-15.32</fp:TaxTotalAmount><fp:TaxExclusiveTotalAmount>-510.68</fp:TaxExclusiveTotalAmount>"
    "<fp:GraphCode>01,10,033002000211,83089648,{qr},20200724,16197833567414507415,0941,</fp:GraphCode>"
    "<fp:GoodsInfos><fp:GoodsInfo><fp:Item>*餐饮服务*餐费</fp:Item><fp:Amount>-510.68</fp:Amount>"
    "<fp:TaxScheme>3%</fp:TaxScheme><fp:TaxAmount>-15.32</fp:TaxAmount></fp:GoodsInfo></fp:GoodsInfos></eInvoice>"
)


def test_edrm_red_invoice_and_its_original() -> None:
    data = EDRM.format(
        total="-526.00", note="对应正数发票代码:033002000211号码:83089647", qr="-510.68"
    ).encode()
    assert xml_edrm.sniff(data) and not xml_digital.sniff(data)
    parsed = only(data)
    inv = parsed.invoice
    assert inv is not None and parsed.findings == []
    assert (inv.kind, inv.status) == (Kind.VAT_ELECTRONIC_NORMAL, Status.RED)
    assert inv.original == Identity("033002000211", "83089647")
    assert validate(inv, CTX) == []


def test_edrm_graph_code_disagreeing_is_a_finding() -> None:
    data = EDRM.format(total="-526.00", note="", qr="510.00").encode()
    found = {(f.code, f.field) for f in only(data).findings}
    assert ("source_mismatch", "amount") in found


FIRST_BYTES = st.sampled_from(
    [b"", b"<", b"{", b"[", b"%PDF", b"PK", b"\xef\xbb\xbf", b"\xff\xfe", b"\x1c", b" <", b"\n<"]
)


def _decoded_head(data: bytes, size: int) -> str:
    """What the sniffs read before `xml_head` looked at the first byte: the head decoded whole."""
    head = data[:size]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return head.decode("utf-16", "ignore")
    return head.decode("utf-8", "ignore").lstrip("\ufeff")


@given(st.tuples(FIRST_BYTES, st.binary(max_size=40)).map(b"".join))
def test_the_xml_head_is_the_decoded_head_when_it_starts_with_a_tag(data: bytes) -> None:
    """`xml_head` turns a file away by its first byte only when its decoded head would not start
    with '<' (an XML file after a BOM, whitespace or bytes that do not decode still reaches the
    sniffs), and gives that head otherwise."""
    text = _decoded_head(data, 2048).lstrip()
    assert xml_head(data) == (text if text.startswith("<") else "")
    if data.startswith((b"{", b"[", b"%PDF", b"PK")):
        assert xml_head(data) == ""
