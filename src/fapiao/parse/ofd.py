"""OFD invoices (GB/T 33190, a zip with `OFD.xml` at its root).

Sources, best first:
1. the attached original XML (`Doc_0/Attachs/original_invoice.xml`, edrm `eInvoice`), its XBRL form,
   or a 数电票 `EInvoice`; checked against `OFD.xml` CustomDatas and the tagged page text;
2. with no attachment (数电票 OFDs): `OFD.xml` CustomDatas, then `CustomTag.xml` → page text objects;
   the title printed on the template gives the kind; the QR image is decoded as a cross-check.
When two sources disagree, a `source_mismatch` finding names the field and both values.
"""

from __future__ import annotations

import struct
from dataclasses import replace

from fapiao.codec import parse_date
from fapiao.findings import Finding, finding
from fapiao.model import Invoice, Kind, LineItem, Party, Status
from fapiao.parse import Parsed, xml_digital, xml_edrm
from fapiao.parse.ofd_crosscheck import QrPayload, check_qr, compare, parse_payload
from fapiao.parse.ofd_fields import (
    Reader,
    clean_number,
    is_words,
    kind_from_code,
    kind_from_title,
    original_from_remarks,
    words_in,
)
from fapiao.parse.ofd_layout import (
    Package,
    attachments,
    decode_qr,
    open_package,
    read_pages,
    template_texts,
)
from fapiao.parse.safety import SafeZip, Unsafe, looks_like_zip, parse_xml, strip_namespaces

PRIORITY = 50
# The QR image is decoded when the text sources are incomplete or disagree (it is the tie-breaker);
# set True to decode it on every OFD without an attachment (about 1 ms more per file).
QR_ALWAYS = False
MAX_OFD_MEMBERS = 2_000
ROW_TOLERANCE_MM = 2.5


def sniff(data: bytes) -> bool:
    """A zip whose central directory lists `OFD.xml` at the top (read without inflating)."""
    if not looks_like_zip(data):
        return False
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if at < 0 or at + 22 > len(data):
        return False
    try:
        count, _, pos = struct.unpack("<HII", data[at + 10 : at + 20])
        for _ in range(min(count, MAX_OFD_MEMBERS)):
            if data[pos : pos + 4] != b"PK\x01\x02":
                return False
            name_len, extra_len, comment_len = struct.unpack("<HHH", data[pos + 28 : pos + 34])
            name = data[pos + 46 : pos + 46 + name_len]
            if name.lstrip(b"/") in (b"OFD.xml", b"ofd.xml", b"OFD.XML"):
                return True
            pos += 46 + name_len + extra_len + comment_len
    except struct.error:
        return False
    return False


def parse(data: bytes) -> list[Parsed]:
    try:
        zf = SafeZip(data, max_members=MAX_OFD_MEMBERS)
        pkg = open_package(zf)
        return [_parse_package(pkg)]
    except Unsafe as exc:
        return [Parsed(None, [exc.finding])]


def _parse_package(pkg: Package) -> Parsed:
    attached = _from_attachment(pkg)
    read_pages(pkg)
    if attached is not None:
        if attached.invoice is not None:
            words = _words(pkg)
            if words and not attached.invoice.total_words:  # the page prints 价税合计（大写）
                attached.invoice = replace(attached.invoice, total_words=words)
            attached.findings.extend(_check_sources(attached.invoice, pkg, "OFD attachment"))
        return attached
    return _from_layout(pkg)


def _from_attachment(pkg: Package) -> Parsed | None:
    for path, data in attachments(pkg):
        try:
            root = strip_namespaces(parse_xml(data))
        except Unsafe as exc:
            if exc.finding.code == "hostile":
                return Parsed(None, [exc.finding])
            try:
                root = strip_namespaces(parse_xml(data, recover=True))
            except Unsafe:
                continue
        if root.tag == "EInvoice":
            return xml_digital.from_root(root)
        if root.tag in ("eInvoice", "xbrl"):
            return xml_edrm.from_root(root)
        pkg.notes.append(f"{path}: attachment <{root.tag}> is not an invoice")
    return None


def _tag(pkg: Package, *names: str) -> str:
    for name in names:
        values = pkg.tags.get(name)
        if values and values[0]:
            return values[0]
    return ""


def _tag_readings(pkg: Package) -> dict[str, object]:
    """What the tagged page text says, in the field names of `compare`."""
    r = Reader()
    out: dict[str, object] = {
        "code": clean_number(_tag(pkg, "InvoiceCode")),
        "number": clean_number(_tag(pkg, "InvoiceNo")),
        "check_code": clean_number(_tag(pkg, "InvoiceCheckCode")),
        "seller.tax_id": clean_number(_tag(pkg, "SellerTaxID")),
        "buyer.tax_id": clean_number(_tag(pkg, "BuyerTaxID")),
        "seller.name": _tag(pkg, "SellerName"),
        "buyer.name": _tag(pkg, "BuyerName"),
        "amount": r.optional_money(_tag(pkg, "TaxExclusiveTotalAmount")),
        "tax": r.optional_money(_tag(pkg, "TaxTotalAmount")),
        "total": r.optional_money(_tag(pkg, "TaxInclusiveTotalAmount")),
    }
    date = parse_date(_tag(pkg, "IssueDate"))
    out["issue_date"] = date.isoformat() if date else ""
    return out


def _custom_readings(pkg: Package) -> dict[str, object]:
    """What `OFD.xml` CustomDatas say, in the field names of `compare`."""
    c = pkg.custom
    r = Reader()
    date = parse_date(c.get("开票日期", ""))
    return {
        "code": clean_number(c.get("发票代码")),
        "number": clean_number(c.get("发票号码")),
        "issue_date": date.isoformat() if date else "",
        "check_code": clean_number(c.get("校验码")),
        "amount": r.optional_money(c.get("合计金额")),
        "tax": r.optional_money(c.get("合计税额")),
        "total": r.optional_money(c.get("价税合计")),
        "seller.tax_id": clean_number(c.get("销售方纳税人识别号")).upper(),
        "buyer.tax_id": clean_number(c.get("购买方纳税人识别号")).upper(),
        "seller.name": c.get("销售方名称", ""),
        "buyer.name": c.get("购买方名称", ""),
    }


def _check_sources(inv: Invoice, pkg: Package, first: str) -> list[Finding]:
    out = compare(inv, _custom_readings(pkg), first=first, second="OFD.xml CustomData")
    out += compare(inv, _tag_readings(pkg), first=first, second="page text (CustomTag)")
    return out


def _title(pkg: Package) -> str:
    for text in template_texts(pkg) + [pkg.texts[i] for i in pkg.order]:
        if "发票" in text and ("专用" in text or "普通" in text) and len(text) <= 40:
            return text
    return ""


_NUMERALS = frozenset("零壹贰叁肆伍陆柒捌玖拾佰仟万亿")


def _words(pkg: Package) -> str:
    for obj_id in pkg.order:
        raw = pkg.texts[obj_id]
        if _NUMERALS.isdisjoint(raw):  # cheap test first: most texts are not amounts in words
            continue
        text = words_in(raw)
        if len(text) >= 2 and is_words(text):
            return text
    return ""


def _column(pkg: Package, names: tuple[str, ...], rows: list[float]) -> list[str]:
    """One optional line column (规格型号, 单位, 单价, 数量), matched to the lines by height on the page:
    a column may leave out blank cells, so counting occurrences would shift the values."""
    out = [""] * len(rows)
    for name in names:
        values, tops = pkg.tags.get(name, []), pkg.tag_y.get(name, [])
        for value, top in zip(values, tops, strict=False):
            nearest = min(range(len(rows)), key=lambda i: abs(rows[i] - top), default=None)
            if nearest is not None and abs(rows[nearest] - top) < ROW_TOLERANCE_MM:
                out[nearest] = out[nearest] or value
    return out


def _items(pkg: Package, r: Reader) -> tuple[LineItem, ...]:
    names = pkg.tags.get("Item", [])
    amounts = pkg.tags.get("Amount", [])
    rates = pkg.tags.get("TaxScheme", [])
    taxes = pkg.tags.get("TaxAmount", [])
    if not names or not (len(names) == len(amounts) == len(rates) == len(taxes)):
        return ()
    rows = pkg.tag_y.get("Amount", [])
    specs = _column(pkg, ("Specification", "SpecMod", "Spec"), rows)
    units = _column(pkg, ("MeasurementDimension", "MeaUnits", "Unit"), rows)
    prices = _column(pkg, ("Price", "UnPrice"), rows)
    quantities = _column(pkg, ("Quantity",), rows)
    items = []
    for i, name in enumerate(names):
        prefix = f"items[{i + 1}]."
        items.append(
            LineItem(
                name=name,
                amount=r.money(amounts[i], prefix + "amount"),
                tax_rate=r.rate(rates[i], taxes[i], prefix + "tax_rate", i + 1),
                tax=r.money(taxes[i], prefix + "tax", marker_zero=True),
                spec=specs[i],
                unit=units[i],
                quantity=quantities[i],
                unit_price=prices[i],
            )
        )
    return tuple(items)


def compare_readings(first: dict[str, object], second: dict[str, object]) -> list[str]:
    """Fields both sources read and read differently (spaces and case aside)."""
    out = []
    for field, value in first.items():
        other = second.get(field)
        if value in (None, "") or other in (None, ""):
            continue
        if "".join(str(value).split()).upper() != "".join(str(other).split()).upper():
            out.append(field)
    return out


def _pick(field: str, custom: dict[str, object], tags: dict[str, object]) -> object:
    value = custom.get(field)
    return value if value not in (None, "") else tags.get(field)


def _from_layout(pkg: Package) -> Parsed:
    custom = _custom_readings(pkg)
    tags = _tag_readings(pkg)
    if not any(v not in (None, "") for v in (*custom.values(), *tags.values())):
        detail = "OFD 中没有发票附件、CustomDatas 或带标签的页面文字"
        detail_en = "OFD without an invoice attachment, CustomDatas or tagged page text"
        return Parsed(None, [finding("unreadable", detail=detail, detail_en=detail_en)])
    r = Reader()
    needed = QR_ALWAYS or not all(_pick(f, custom, tags) for f in ("number", "issue_date"))
    needed = needed or bool(compare_readings(custom, tags)) or not custom.get("number")
    qr = decode_qr(pkg) if needed else None
    payload: QrPayload | None = parse_payload(qr[1]) if qr else None
    number = str(_pick("number", custom, tags) or "")
    code = str(_pick("code", custom, tags) or "")
    title = _title(pkg)
    kind = (payload.kind if payload else None) or kind_from_title(title, number)
    if kind is None:
        kind = Kind.DIGITAL_NORMAL if len(number) == 20 else kind_from_code(code, title)
    amount = _pick("amount", custom, tags)
    tax = _pick("tax", custom, tags)
    total = _pick("total", custom, tags)
    if amount is None:
        r.findings.append(finding("field_missing", "amount"))
    if tax is None:
        r.findings.append(finding("field_missing", "tax"))
    if total is None and amount is not None and tax is not None:
        total = int(amount) + int(tax)  # type: ignore[call-overload]
    remarks = " ".join(t for t in pkg.tags.get("Note", []) if t).strip()
    total_fen = int(total or 0)  # type: ignore[call-overload]
    red = total_fen < 0
    inv = Invoice(
        kind=kind,
        code=code,
        number=number,
        issue_date=r.date(str(_pick("issue_date", custom, tags) or "")),
        seller=Party(
            str(_pick("seller.name", custom, tags) or ""),
            str(_pick("seller.tax_id", custom, tags) or "").upper(),
        ),
        buyer=Party(
            str(_pick("buyer.name", custom, tags) or ""),
            str(_pick("buyer.tax_id", custom, tags) or "").upper(),
        ),
        amount=int(amount or 0),  # type: ignore[call-overload]
        tax=int(tax or 0),  # type: ignore[call-overload]
        total=total_fen,
        check_code=str(_pick("check_code", custom, tags) or ""),
        status=Status.RED if red else Status.NORMAL,
        original=original_from_remarks(remarks) if red else None,
        items=_items(pkg, r),
        remarks=remarks,
        issuer=_tag(pkg, "InvoiceClerk"),
        total_words=_words(pkg),
    )
    if not number:
        r.findings.append(finding("field_missing", "number"))
    if any(f.code in ("field_missing", "field_invalid", "date_invalid") for f in r.findings):
        return Parsed(None, r.findings)
    findings = r.findings
    findings += compare(inv, tags, first="OFD.xml CustomData", second="page text (CustomTag)")
    if payload and qr:
        findings += check_qr(inv, payload, qr[0], first="OFD")
    return Parsed(inv, findings)
