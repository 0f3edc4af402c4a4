"""Invoices as OFD (GB/T 33190) packages shaped like the platform's: `OFD.xml` with DocInfo
CustomDatas, one page of TextObjects over a template of labels, `Tags/CustomTag.xml` mapping field
names to text object ids, and the QR code as a PNG. Older kinds also carry the original edrm XML in
`Doc_0/Attachs/original_invoice.xml`; 数电票 OFDs carry no attachment, as on the real platform.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape, quoteattr

import segno

from fapiao.model import Invoice
from fapiao.money import format_fen, to_words
from fapiao_dev.samples.corpus import qr_payload
from fapiao_dev.samples.render_pdf import COLUMNS, _title
from fapiao_dev.samples.render_xml import edrm_xml, rate_text, tax_text

NS = "http://www.ofdspec.org/2016"
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


class _Objects:
    """Numbers the page's text objects and remembers which tag each one belongs to."""

    def __init__(self, first_id: int = 100) -> None:
        self.next_id = first_id
        self.xml: list[str] = []
        self.tags: list[tuple[str, list[int]]] = []

    def text(self, x: float, y: float, s: str, size: float = 3.175, tag: str = "") -> int:
        oid = self.next_id
        self.next_id += 1
        width = max(len(s) * size, size)
        self.xml.append(
            f'<ofd:TextObject ID="{oid}" Boundary="{x:.2f} {y:.2f} {width:.2f} {size * 1.6:.2f}" '
            f'Font="2" Size="{size}"><ofd:TextCode X="0" Y="{size * 1.15:.4f}">{escape(s)}'
            "</ofd:TextCode></ofd:TextObject>"
        )
        if tag:
            self.tags.append((tag, [oid]))
        return oid


def _page(inv: Invoice, objs: _Objects) -> None:
    objs.text(60, 8, _title(inv), 5.3)
    if inv.code:
        objs.text(160, 5, inv.code, tag="InvoiceCode")
    objs.text(160, 10.3, inv.number, tag="InvoiceNo")
    objs.text(160, 16.4, f"{inv.issue_date:%Y年%m月%d日}", tag="IssueDate")
    if inv.check_code:
        objs.text(160, 21.5, inv.check_code, tag="InvoiceCheckCode")
    objs.text(23, 31, inv.buyer.name, tag="Buyer/BuyerName")
    objs.text(64, 40, inv.buyer.tax_id, tag="Buyer/BuyerTaxID")
    objs.text(123, 31, inv.seller.name, tag="Seller/SellerName")
    objs.text(164, 40, inv.seller.tax_id, tag="Seller/SellerTaxID")
    y = 56.0
    for item in inv.items:
        objs.text(COLUMNS["name"][0] + 1.5, y, item.name, tag="Item")
        if item.spec:
            objs.text(COLUMNS["spec"][0] + 1, y, item.spec, tag="Specification")
        objs.text(COLUMNS["unit"][0] + 1, y, item.unit, tag="MeasurementDimension")
        objs.text(COLUMNS["quantity"][0] + 1, y, item.quantity, tag="Quantity")
        objs.text(COLUMNS["unit_price"][0] + 1, y, item.unit_price, tag="Price")
        objs.text(COLUMNS["amount"][0] + 1, y, format_fen(item.amount), tag="Amount")
        objs.text(
            COLUMNS["tax_rate"][0] + 1, y, rate_text(item.tax_rate, percent=True), tag="TaxScheme"
        )
        objs.text(COLUMNS["tax"][0] + 1, y, tax_text(item), tag="TaxAmount")
        y += 4.5
    for x, value, tag in (
        (133, inv.amount, "TaxExclusiveTotalAmount"),
        (175, inv.tax, "TaxTotalAmount"),
        (155, inv.total, "TaxInclusiveTotalAmount"),
    ):
        yen = objs.text(x, 90.5 if tag != "TaxInclusiveTotalAmount" else 96, "¥")
        val = objs.text(
            x + 2.3, 90.5 if tag != "TaxInclusiveTotalAmount" else 96, format_fen(value)
        )
        objs.tags.append((tag, [yen, val]))
    objs.text(63, 96, to_words(inv.total))
    if inv.remarks:
        objs.text(19, 107, inv.remarks, tag="Note")
    objs.text(26, 126, inv.issuer, tag="InvoiceClerk")


_LABELS = (
    (143, 10.3, "发票号码："),
    (143, 16.4, "开票日期："),
    (13, 31, "名称："),
    (13, 40, "统一社会信用代码/纳税人识别号："),
    (113, 31, "名称："),
    (113, 40, "统一社会信用代码/纳税人识别号："),
    (20, 90.5, "合计"),
    (8, 96, "价税合计（大写）"),
    (140, 96, "（小写）"),
    (7, 107, "备注"),
    (12, 126, "开票人："),
)


def _template() -> str:
    objs = _Objects(10)
    for x, y, s in _LABELS:
        objs.text(x, y, s)
    return (
        f'{_HEAD}<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="9">'
        + "".join(objs.xml)
        + "</ofd:Layer></ofd:Content></ofd:Page>"
    )


def _custom_tag(tags: list[tuple[str, list[int]]], page_id: int) -> str:
    parts = []
    for path, ids in tags:
        refs = "".join(f'<ofd:ObjectRef PageRef="{page_id}">{i}</ofd:ObjectRef>' for i in ids)
        names = path.split("/")
        parts.append(
            "".join(f"<ofd:{n}>" for n in names)
            + refs
            + "".join(f"</ofd:{n}>" for n in reversed(names))
        )
    return f'{_HEAD}<ofd:root xmlns:ofd="{NS}" version="1.0">' + "".join(parts) + "</ofd:root>"


def _custom_datas(inv: Invoice) -> str:
    data = [
        ("发票号码", inv.number),
        ("开票日期", f"{inv.issue_date:%Y年%m月%d日}"),
        ("合计金额", format_fen(inv.amount)),
        ("合计税额", format_fen(inv.tax)),
        ("销售方纳税人识别号", inv.seller.tax_id),
        ("购买方纳税人识别号", inv.buyer.tax_id),
    ]
    if inv.code:
        data[:0] = [("发票代码", inv.code)]
        data.append(("校验码", " ".join(inv.check_code[i : i + 5] for i in range(0, 20, 5))))
    return "".join(
        f"<ofd:CustomData Name={quoteattr(name)}>{escape(value)}</ofd:CustomData>"
        for name, value in data
    )


def invoice_ofd(inv: Invoice) -> bytes:
    page_id = 61
    objs = _Objects(100)
    _page(inv, objs)
    qr_id = objs.next_id
    qr = io.BytesIO()
    segno.make(qr_payload(inv), error="m").save(qr, kind="png", scale=4, border=2)
    page = (
        f'{_HEAD}<ofd:Page xmlns:ofd="{NS}"><ofd:Area><ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox>'
        '</ofd:Area><ofd:Template TemplateID="1" ZOrder="Background"/><ofd:Content>'
        f'<ofd:Layer ID="{qr_id + 1}">'
        + "".join(objs.xml)
        + f'<ofd:ImageObject ID="{qr_id + 2}" CTM="20 0 0 20 0 0" Boundary="8 4 20 20" '
        f'ResourceID="{qr_id}"/></ofd:Layer></ofd:Content></ofd:Page>'
    )
    attach = bool(inv.code)
    document = (
        f'{_HEAD}<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{qr_id + 2}</ofd:MaxUnitID><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
        '<ofd:TemplatePage ID="1" BaseLoc="Tpls/Tpl_0/Content.xml"/>'
        "<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>"
        f'<ofd:Pages><ofd:Page ID="{page_id}" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
        + ("<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>" if attach else "")
        + "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>"
    )
    ofd_xml = (
        f'{_HEAD}<ofd:OFD xmlns:ofd="{NS}" DocType="OFD" Version="1.0"><ofd:DocBody><ofd:DocInfo>'
        f"<ofd:DocID>{inv.number:0>32}</ofd:DocID><ofd:Author>China Tax</ofd:Author>"
        f"<ofd:CreationDate>{inv.issue_date.isoformat()}</ofd:CreationDate><ofd:CustomDatas>"
        '<ofd:CustomData Name="template-version">1.0.20.0422</ofd:CustomData>'
        + _custom_datas(inv)
        + "</ofd:CustomDatas></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
        "</ofd:DocBody></ofd:OFD>"
    )
    files = {
        "OFD.xml": ofd_xml,
        "Doc_0/Document.xml": document,
        "Doc_0/PublicRes.xml": f'{_HEAD}<ofd:Res xmlns:ofd="{NS}"><ofd:Fonts>'
        '<ofd:Font ID="2" FontName="宋体" FamilyName="SimSun"/></ofd:Fonts></ofd:Res>',
        "Doc_0/DocumentRes.xml": f'{_HEAD}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:MultiMedias>'
        f'<ofd:MultiMedia ID="{qr_id}" Type="Image" Format="PNG"><ofd:MediaFile>qr.png'
        "</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias></ofd:Res>",
        "Doc_0/Tpls/Tpl_0/Content.xml": _template(),
        "Doc_0/Pages/Page_0/Content.xml": page,
        "Doc_0/Tags/CustomTags.xml": f'{_HEAD}<ofd:CustomTags xmlns:ofd="{NS}"><ofd:CustomTag '
        'TypeID="root"><ofd:FileLoc>CustomTag.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>',
        "Doc_0/Tags/CustomTag.xml": _custom_tag(objs.tags, page_id),
    }
    if attach:
        files["Doc_0/Attachs/Attachments.xml"] = (
            f'{_HEAD}<ofd:Attachments xmlns:ofd="{NS}"><ofd:Attachment ID="{qr_id + 3}" '
            'Name="original_invoice" Format="xml" Visible="false"><ofd:FileLoc>original_invoice.xml'
            "</ofd:FileLoc></ofd:Attachment></ofd:Attachments>"
        )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(*inv.issue_date.timetuple()[:3], 10, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
        if attach:
            zf.writestr("Doc_0/Attachs/original_invoice.xml", edrm_xml(inv))
        zf.writestr("Doc_0/Res/qr.png", qr.getvalue())
    return buf.getvalue()
