"""Invoices as XML: the 数电票 `EInvoice` (no namespace) and the older edrm `eInvoice`."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from fapiao.model import RATE_EXEMPT, RATE_MARGIN, RATE_NONTAXABLE, Invoice, Kind, LineItem, Status
from fapiao.money import format_fen, to_words
from fapiao_dev.samples.corpus import qr_payload

_XML_RATE = {RATE_EXEMPT: "免税", RATE_NONTAXABLE: "*", RATE_MARGIN: "***"}


def rate_text(rate: str, *, percent: bool) -> str:
    """How a rate is printed: 0.13 -> '13%' (page) or '0.13' (XML); markers as their printed words."""
    if rate in _XML_RATE:
        return (
            {RATE_NONTAXABLE: "不征税"}.get(rate, _XML_RATE[rate]) if percent else _XML_RATE[rate]
        )
    if not percent:
        return rate
    value = (Decimal(rate) * 100).normalize()
    return f"{value:f}%"


def tax_text(item: LineItem) -> str:
    if item.tax_rate == RATE_EXEMPT:
        return "***"
    if item.tax_rate == RATE_NONTAXABLE:
        return "*"
    return format_fen(item.tax)


def _e(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"


def digital_xml(inv: Invoice) -> bytes:
    """数电票 XML as the platform issues it (root `EInvoice`)."""
    special = inv.kind is Kind.DIGITAL_SPECIAL
    blue = "N" if inv.status is Status.RED else "Y"
    items = "".join(
        "<IssuItemInformation>"
        + _e("ItemName", i.name)
        + _e("SpecMod", i.spec)
        + _e("MeaUnits", i.unit)
        + _e("Quantity", i.quantity)
        + _e("UnPrice", i.unit_price)
        + _e("Amount", format_fen(i.amount))
        + _e("TaxRate", rate_text(i.tax_rate, percent=False))
        + _e("ComTaxAm", tax_text(i))
        + _e("TotaltaxIncludedAmount", format_fen(i.amount + i.tax))
        + "</IssuItemInformation>"
        for i in inv.items
    )
    body = (
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<EInvoice>'
        f"<Header>{_e('EIid', inv.number)}<EInvoiceTag>SWEI3200</EInvoiceTag><Version>0.37</Version>"
        "<InherentLabel>"
        f"<InIssuType><LabelCode>{blue}</LabelCode><LabelName>是否蓝字发票标志</LabelName></InIssuType>"
        "<EInvoiceType><LabelCode>01</LabelCode><LabelName>电子发票</LabelName></EInvoiceType>"
        f"<GeneralOrSpecialVAT><LabelCode>{'01' if special else '02'}</LabelCode>"
        f"<LabelName>{'增值税专用发票' if special else '普通发票'}</LabelName></GeneralOrSpecialVAT>"
        "<TaxpayerType><LabelCode>1</LabelCode><LabelName>一般纳税人</LabelName></TaxpayerType>"
        "</InherentLabel></Header><EInvoiceData><SellerInformation>"
        + _e("SellerIdNum", inv.seller.tax_id)
        + _e("SellerName", inv.seller.name)
        + "</SellerInformation><BuyerInformation>"
        + _e("BuyerIdNum", inv.buyer.tax_id)
        + _e("BuyerName", inv.buyer.name)
        + "</BuyerInformation><BasicInformation>"
        + _e("TotalAmWithoutTax", format_fen(inv.amount))
        + _e("TotalTaxAm", format_fen(inv.tax))
        + _e("TotalTax-includedAmount", format_fen(inv.total))
        + _e("TotalTax-includedAmountInChinese", to_words(inv.total))
        + _e("Drawer", inv.issuer)
        + _e("RequestTime", f"{inv.issue_date.isoformat()} 10:12:30")
        + "</BasicInformation>"
        + items
        + "<SpecificInformation/><AdditionalInformation>"
        + _e("Remark", inv.remarks)
        + "</AdditionalInformation></EInvoiceData>"
        "<SellerAuthentication><AuthenticationMethods>01</AuthenticationMethods></SellerAuthentication>"
        "<TaxSupervisionInfo>"
        + _e("InvoiceNumber", inv.number)
        + _e("IssueTime", inv.issue_date.isoformat())
        + "<TaxBureauCode>13200000000</TaxBureauCode><TaxBureauName>国家税务总局</TaxBureauName>"
        "</TaxSupervisionInfo></EInvoice>\n"
    )
    return body.encode("utf-8")


EDRM_NS = "http://www.edrm.org.cn/schema/e-invoice/2019"


def edrm_xml(inv: Invoice) -> bytes:
    """The older e-invoice XML (`eInvoice`, edrm namespace), as embedded in OFD attachments."""
    goods = "".join(
        "<fp:GoodsInfo>"
        + _e("fp:Item", i.name)
        + _e("fp:Specification", i.spec)
        + _e("fp:MeasurementDimension", i.unit)
        + _e("fp:Price", i.unit_price)
        + _e("fp:Quantity", i.quantity)
        + _e("fp:Amount", format_fen(i.amount))
        + _e("fp:TaxScheme", rate_text(i.tax_rate, percent=True))
        + _e("fp:TaxAmount", tax_text(i))
        + "</fp:GoodsInfo>"
        for i in inv.items
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<eInvoice xmlns:fp="{EDRM_NS}" Version="1.0"><fp:DocID>01</fp:DocID>'
        + _e("fp:InvoiceCode", inv.code)
        + _e("fp:InvoiceNo", inv.number)
        + _e("fp:TypeCode", "0")
        + _e("fp:IssueDate", f"{inv.issue_date:%Y年%m月%d日}")
        + _e("fp:InvoiceCheckCode", inv.check_code)
        + "<fp:Buyer>"
        + _e("fp:BuyerName", inv.buyer.name)
        + _e("fp:BuyerTaxID", inv.buyer.tax_id)
        + "</fp:Buyer><fp:Seller>"
        + _e("fp:SellerName", inv.seller.name)
        + _e("fp:SellerTaxID", inv.seller.tax_id)
        + "</fp:Seller>"
        + _e("fp:TaxInclusiveTotalAmount", format_fen(inv.total))
        + _e("fp:Note", inv.remarks)
        + _e("fp:InvoiceClerk", inv.issuer)
        + _e("fp:TaxTotalAmount", format_fen(inv.tax))
        + _e("fp:TaxExclusiveTotalAmount", format_fen(inv.amount))
        + _e("fp:GraphCode", qr_payload(inv))
        + f"<fp:GoodsInfos>{goods}</fp:GoodsInfos></eInvoice>\n"
    )
    return body.encode("utf-8")


def invoice_xml(inv: Invoice) -> bytes:
    return digital_xml(inv) if inv.kind.is_digital else edrm_xml(inv)
