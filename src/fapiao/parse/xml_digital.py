"""数电票 XML: root `EInvoice` (no namespace as issued; a namespace is tolerated).

`Header/InherentLabel/InIssuType` Y blue / N red, `GeneralOrSpecialVAT` 01 专票 / 02 普票;
`EInvoiceData/{SellerInformation, BuyerInformation, BasicInformation, IssuItemInformation*,
SpecificInformation/RedEInvoice, AdditionalInformation/Remark}`; `TaxSupervisionInfo/{InvoiceNumber,
IssueTime}`. Both spellings `TotalTax-includedAmount` and `TotaltaxIncludedAmount` are read.
A document that declares a DTD is claimed here too, so it is refused as hostile, not unknown.
"""

from __future__ import annotations

from lxml import etree

from fapiao.findings import finding
from fapiao.model import RATE_MARGIN, Identity, Invoice, Kind, LineItem, Party, Status
from fapiao.parse import Parsed
from fapiao.parse.ofd_crosscheck import mismatch
from fapiao.parse.ofd_fields import Reader, clean_number, original_from_remarks
from fapiao.parse.safety import Unsafe, declares_dtd, parse_plain, xml_head

PRIORITY = 20


def sniff(data: bytes) -> bool:
    head = xml_head(data)
    if not head:
        return False
    return "<EInvoice" in head or (":EInvoice" in head) or declares_dtd(data)


def parse(data: bytes) -> list[Parsed]:
    try:
        root = parse_plain(data)
    except Unsafe as exc:
        return [Parsed(None, [exc.finding])]
    if root.tag != "EInvoice":
        return [Parsed(None, [finding("unsupported_format", detail=f"root <{root.tag}>")])]
    return [from_root(root)]


def _text(root: etree._Element, path: str) -> str:
    value = root.findtext(path)
    return value.strip() if value else ""


def _fields(section: etree._Element | None) -> dict[str, str]:
    """Child tag -> stripped text, in one pass (faster than a path lookup per field)."""
    if section is None:
        return {}
    return {c.tag: (c.text or "").strip() for c in section if isinstance(c.tag, str)}


def _first(root: etree._Element, *paths: str) -> str:
    for path in paths:
        value = _text(root, path)
        if value:
            return value
    return ""


def _kind(root: etree._Element) -> Kind:
    code = _text(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelCode")
    name = _text(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelName")
    if code == "01" or "专用" in name:
        return Kind.DIGITAL_SPECIAL
    if code == "02" or "普通" in name:
        return Kind.DIGITAL_NORMAL
    return Kind.OTHER


def _margin(root: etree._Element) -> bool:
    """特定征税方式 差额征税: line tax is on the amount less a deduction."""
    for label in root.iterfind("Header/UndefinedLabel/Label"):
        if "征税方式" in (label.findtext("LabelType") or "") and "差额" in (
            label.findtext("LabelName") or ""
        ):
            return True
    return False


def _original(root: etree._Element, remarks: str) -> Identity | None:
    red = root.find("EInvoiceData/SpecificInformation/RedEInvoice")
    if red is not None:
        number = clean_number(
            _first(red, "OriginalEInvoiceNumber", "OriginalInvoiceNumber", "OriginalInvoiceNo")
        )
        code = clean_number(_text(red, "OriginalInvoiceCode"))
        if len(code) == 20 and not number:  # the 数电票 number is carried in the code element
            return Identity("", code)
        if number:
            return Identity("" if len(number) == 20 else code, number)
    return original_from_remarks(remarks)


def from_root(root: etree._Element) -> Parsed:
    """A namespace-free `EInvoice` element -> Parsed (also used for the XML inside an OFD)."""
    r = Reader()
    data = root.find("EInvoiceData")
    if data is None:
        return Parsed(None, [finding("field_missing", "EInvoiceData")])
    basic = "EInvoiceData/BasicInformation/"
    number = clean_number(_first(root, "TaxSupervisionInfo/InvoiceNumber", "Header/EIid"))
    eiid = clean_number(_text(root, "Header/EIid"))
    if not number:
        r.findings.append(finding("field_missing", "number"))
    elif eiid and eiid != number:
        r.findings.append(
            mismatch("number", "TaxSupervisionInfo/InvoiceNumber", number, "Header/EIid", eiid)
        )
    issue_date = r.date(
        _first(root, "TaxSupervisionInfo/IssueTime", basic + "RequestTime", basic + "IssueTime")
    )
    remarks = _text(root, "EInvoiceData/AdditionalInformation/Remark")
    red = _text(root, "Header/InherentLabel/InIssuType/LabelCode").upper() == "N"
    margin = _margin(root)
    items = []
    for index, el in enumerate(data.iterfind("IssuItemInformation"), start=1):
        prefix = f"items[{index}]."
        f = _fields(el)
        tax_text = f.get("ComTaxAm", "")
        rate = r.rate(f.get("TaxRate", ""), tax_text, prefix + "tax_rate", index)
        if margin and rate not in ("exempt", "nontaxable"):
            rate = RATE_MARGIN
        items.append(
            LineItem(
                name=f.get("ItemName", ""),
                spec=f.get("SpecMod", ""),
                unit=f.get("MeaUnits", ""),
                quantity=f.get("Quantity", ""),
                unit_price=f.get("UnPrice", ""),
                amount=r.money(f.get("Amount", ""), prefix + "amount"),
                tax_rate=rate,
                tax=r.money(tax_text, prefix + "tax", marker_zero=True),
            )
        )
    b = _fields(data.find("BasicInformation"))
    seller = _fields(data.find("SellerInformation"))
    buyer = _fields(data.find("BuyerInformation"))
    inv = Invoice(
        kind=_kind(root),
        number=number,
        issue_date=issue_date,
        seller=Party(seller.get("SellerName", ""), seller.get("SellerIdNum", "").upper()),
        buyer=Party(buyer.get("BuyerName", ""), buyer.get("BuyerIdNum", "").upper()),
        amount=r.money(b.get("TotalAmWithoutTax"), "amount"),
        tax=r.money(b.get("TotalTaxAm"), "tax", marker_zero=True),
        total=r.money(b.get("TotalTax-includedAmount") or b.get("TotaltaxIncludedAmount"), "total"),
        status=Status.RED if red else Status.NORMAL,
        original=_original(root, remarks) if red else None,
        items=tuple(items),
        remarks=remarks,
        issuer=b.get("Drawer", ""),
        total_words=b.get("TotalTax-includedAmountInChinese")
        or b.get("TotaltaxIncludedAmountInChinese", ""),
    )
    if any(f.code in ("field_missing", "field_invalid", "date_invalid") for f in r.findings):
        return Parsed(None, r.findings)
    return Parsed(inv, r.findings)
