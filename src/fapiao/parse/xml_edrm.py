"""Older e-invoice XML: `eInvoice` with `fp:` elements in `http://www.edrm.org.cn/schema/e-invoice/2019`
(embedded in OFD as `Doc_0/Attachs/original_invoice.xml`), and its XBRL form (the
`xbrl.mof.gov.cn` inv taxonomy) that some platforms attach instead.

`fp:GraphCode` is the QR payload; it is checked against the fields it repeats. A red invoice carries
negative amounts and names its blue invoice in the 备注 (对应正数发票代码…号码…).
"""

from __future__ import annotations

from lxml import etree

from fapiao.findings import finding
from fapiao.model import Identity, Invoice, Kind, LineItem, Party, Status
from fapiao.parse import Parsed
from fapiao.parse.ofd_crosscheck import check_qr, mismatch, parse_payload
from fapiao.parse.ofd_fields import Reader, clean_number, kind_from_code, original_from_remarks
from fapiao.parse.safety import Unsafe, parse_plain, xml_head

PRIORITY = 20
EDRM_NS = "http://www.edrm.org.cn/schema/e-invoice"
XBRL_INV_NS = "xbrl.mof.gov.cn/taxonomy"


def sniff(data: bytes) -> bool:
    head = xml_head(data, 4096)
    if not head:
        return False
    if "eInvoice" in head and EDRM_NS in head:
        return True
    return "<xbrl" in head and XBRL_INV_NS in head


def parse(data: bytes) -> list[Parsed]:
    try:
        root = parse_plain(data)
    except Unsafe as exc:
        return [Parsed(None, [exc.finding])]
    return [from_root(root)]


def from_root(root: etree._Element) -> Parsed:
    """A namespace-free `eInvoice` or `xbrl` element -> Parsed (also used inside an OFD)."""
    if root.tag == "eInvoice":
        return _edrm(root)
    if root.tag == "xbrl":
        return _xbrl(root)
    return Parsed(None, [finding("unsupported_format", detail=f"root <{root.tag}>")])


def _text(root: etree._Element, path: str) -> str:
    value = root.findtext(path)
    return value.strip() if value else ""


def _finish(r: Reader, inv: Invoice) -> Parsed:
    if any(f.code in ("field_missing", "field_invalid", "date_invalid") for f in r.findings):
        return Parsed(None, r.findings)
    return Parsed(inv, r.findings)


def _status(total: int, remarks: str) -> tuple[Status, Identity | None]:
    if total < 0:
        return Status.RED, original_from_remarks(remarks)
    return Status.NORMAL, None


def _edrm(root: etree._Element) -> Parsed:
    r = Reader()
    code = clean_number(_text(root, "InvoiceCode"))
    payload = parse_payload(_text(root, "GraphCode"))
    kind = (payload.kind if payload else None) or kind_from_code(code)
    items = []
    for index, el in enumerate(root.iterfind("GoodsInfos/GoodsInfo"), start=1):
        prefix = f"items[{index}]."
        tax_text = _text(el, "TaxAmount")
        items.append(
            LineItem(
                name=_text(el, "Item"),
                spec=_text(el, "Specification"),
                unit=_text(el, "MeasurementDimension"),
                quantity=_text(el, "Quantity"),
                unit_price=_text(el, "Price"),
                amount=r.money(_text(el, "Amount"), prefix + "amount"),
                tax_rate=r.rate(_text(el, "TaxScheme"), tax_text, prefix + "tax_rate", index),
                tax=r.money(tax_text, prefix + "tax", marker_zero=True),
            )
        )
    remarks = _text(root, "Note")
    total = r.money(_text(root, "TaxInclusiveTotalAmount"), "total")
    status, original = _status(total, remarks)
    inv = Invoice(
        kind=kind,
        code=code,
        number=clean_number(_text(root, "InvoiceNo")),
        issue_date=r.date(_text(root, "IssueDate")),
        seller=Party(_text(root, "Seller/SellerName"), _text(root, "Seller/SellerTaxID").upper()),
        buyer=Party(_text(root, "Buyer/BuyerName"), _text(root, "Buyer/BuyerTaxID").upper()),
        amount=r.money(_text(root, "TaxExclusiveTotalAmount"), "amount"),
        tax=r.money(_text(root, "TaxTotalAmount"), "tax", marker_zero=True),
        total=total,
        check_code=clean_number(_text(root, "InvoiceCheckCode")),
        status=status,
        original=original,
        items=tuple(items),
        remarks=remarks,
        issuer=_text(root, "InvoiceClerk"),
    )
    if not inv.number:
        r.findings.append(finding("field_missing", "number"))
    if payload and not r.failed:
        r.findings.extend(check_qr(inv, payload, "GraphCode", first="eInvoice XML"))
    return _finish(r, inv)


_X = "InformationOfTaxableGoodsOrServicesDetailItemsTuple"
_ID = "TaxpayerIdentificationNumberUnifiedSocialCreditCodeOf"


def _xbrl(root: etree._Element) -> Parsed:
    r = Reader()
    code = clean_number(_text(root, "CodeOfInvoice"))
    number = clean_number(_text(root, "NumberOfInvoice"))
    title = _text(root, "TypeOfInvoice")
    kind = kind_from_code(code, title) if code else Kind.OTHER
    if len(number) == 20 and not code:
        kind = Kind.DIGITAL_SPECIAL if "专用" in title else Kind.DIGITAL_NORMAL
    items = []
    for index, el in enumerate(root.iterfind(_X), start=1):
        prefix = f"items[{index}]."
        tax_text = _text(el, "TaxAmount")
        items.append(
            LineItem(
                name=_text(el, "NameOfTaxableGoodsOrServices"),
                spec=_text(el, "Specification"),
                unit=_text(el, "UnitOfGoodsOrServices"),
                quantity=_text(el, "QuantityOfGoodsOrServices"),
                unit_price=_text(el, "UnitPriceOfGoodsOrServices"),
                amount=r.money(_text(el, "AmountExcludingTax"), prefix + "amount"),
                tax_rate=r.rate(_text(el, "TaxRate"), tax_text, prefix + "tax_rate", index),
                tax=r.money(tax_text, prefix + "tax", marker_zero=True),
            )
        )
    remarks = _text(root, "Remarks")
    total = r.money(_text(root, "TaxIncludedAmountInFigures"), "total")
    status, original = _status(total, remarks)
    inv = Invoice(
        kind=kind,
        code=code,
        number=number,
        issue_date=r.date(_text(root, "DateOfIssue")),
        seller=Party(_text(root, "NameOfSeller"), _text(root, _ID + "Seller").upper()),
        buyer=Party(_text(root, "NameOfPurchaser"), _text(root, _ID + "Purchaser").upper()),
        amount=r.money(_text(root, "TotalAmountExcludingTax"), "amount"),
        tax=r.money(_text(root, "TotalTaxAmount"), "tax", marker_zero=True),
        total=total,
        check_code=clean_number(_text(root, "IdentifyingCode")),
        status=status,
        original=original,
        items=tuple(items),
        remarks=remarks,
        issuer=_text(root, "Issuer"),
        total_words=_text(root, "TaxIncludedAmountInWords"),
    )
    if not number:
        r.findings.append(finding("field_missing", "number"))
    unique = clean_number(_text(root, "UniqueCodeOfInvoice"))
    if unique and unique != code + number:
        r.findings.append(
            mismatch("number", "XBRL code+number", code + number, "UniqueCodeOfInvoice", unique)
        )
    return _finish(r, inv)
