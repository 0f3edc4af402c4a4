"""Scans and photos (PNG, JPEG, TIFF, BMP, WebP): the QR code first, then OCR, then fields by labels
and layout (`layout`), without templates or fixed coordinates.

The QR gives the invoice's identity, date and one amount exactly, and its orientation turns the
page upright (90/180/270 degrees and a few degrees of skew) before OCR; the residual tilt of the
text lines is taken out of the box coordinates. Huge images are `too_large` before they are decoded.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import replace

from PIL import Image, ImageOps

from fapiao.codec import parse_date
from fapiao.findings import Finding, finding
from fapiao.model import Invoice, Status
from fapiao.money import MoneyError, format_fen, parse_yuan
from fapiao.parse import Parsed
from fapiao.parse.layout import Fields, to_reads
from fapiao.parse.layouts import extract
from fapiao.parse.ocr_engine import OcrUnavailable, engine, read
from fapiao.parse.ofd_crosscheck import QrPayload
from fapiao.parse.ofd_fields import original_from_remarks
from fapiao.parse.pdf_qr import first_payload
from fapiao.parse.reading import apply_qr, build, complete_totals

MAX_PIXELS = 60_000_000  # a 600 dpi A3 scan is ~70 MP; phone photos are 12–50 MP
OCR_MAX_SIDE = 1800  # larger pictures are scaled down before OCR
PRIORITY = 90
SOURCE = "ocr"

_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
)


def sniff(data: bytes) -> bool:
    head = data[:16]
    if head.startswith(_MAGIC):
        return True
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def parse(data: bytes) -> list[Parsed]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                return [
                    Parsed(
                        None,
                        [
                            finding(
                                "too_large",
                                detail=f"图片 {width}×{height} 像素",
                                detail_en=f"image {width}×{height} pixels",
                            )
                        ],
                    )
                ]
            _draft(image)
            image.load()
            image = ImageOps.exif_transpose(image) or image
    except Image.DecompressionBombError:
        detail, detail_en = "图片过大，无法解码", "image too large to decode"
        return [Parsed(None, [finding("too_large", detail=detail, detail_en=detail_en)])]
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        detail, detail_en = f"图片已损坏：{exc}", f"broken image: {exc}"
        return [Parsed(None, [finding("unreadable", detail=detail, detail_en=detail_en)])]
    try:
        return [parse_picture(image)]
    except OcrUnavailable as exc:
        return [Parsed(None, [finding("ocr_unavailable", detail=str(exc))])]


def _draft(image: Image.Image) -> None:
    """A large JPEG (a phone photo) is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that keeps
    its longest side at OCR_MAX_SIDE or more: decoding a 12 MP photo whole and scaling it down
    costs a quarter of a second, the reduced decode a tenth of that."""
    width, height = image.size
    if image.format != "JPEG" or max(width, height) <= OCR_MAX_SIDE:
        return
    ratio = OCR_MAX_SIDE / max(width, height)
    image.draft("RGB", (math.ceil(width * ratio), math.ceil(height * ratio)))


def parse_picture(image: Image.Image) -> Parsed:
    """One page as a picture -> the invoice on it (`ocr_unavailable` without the `ocr` extra;
    a text-less PDF page comes here too)."""
    try:
        engine()
    except OcrUnavailable as exc:
        return Parsed(None, [finding("ocr_unavailable", detail=str(exc))])
    image = image.convert("RGB")
    if max(image.size) > OCR_MAX_SIDE:
        image.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE), Image.Resampling.LANCZOS)
    found = first_payload(image.convert("L"))
    qr = found[0] if found else None
    band = None
    if found:
        turn = int(getattr(found[1], "orientation", 0) or 0)
        corners = _corners(found[1])
        if turn:
            size = image.size
            image = _upright(image, turn)
            corners = [_turned(p, turn, size, image.size) for p in corners]
        if corners and _covers_header(found[0]):
            band = _header_band(corners)
    boxes, _ = read(image, skip_rows=band)
    fields = extract(boxes)
    if qr is None and not fields.number and boxes:
        # Lines read across on a page upside down, and down the page when it lies on its side;
        # that guess goes first, the other turns after it (a photo on its side read as a few
        # wide boxes of noise was never turned)
        across = sum(b.x1 - b.x0 >= b.y1 - b.y0 for b in boxes) * 2 >= len(boxes)
        for turn in (180, 90, 270) if across else (90, 270, 180):
            boxes, _ = read(image.rotate(turn, expand=True, fillcolor="white"))
            fields = extract(boxes)
            if fields.number:
                break
    findings: list[Finding] = []
    if qr is not None and not fields.title:
        fields.title = _TITLES.get(qr.kind_code, "")
    reads = to_reads(_repair(fields), SOURCE)
    if qr is not None:
        findings += apply_qr(reads, qr)
        complete_totals(reads)
    inv, more = build(reads)
    findings += more
    if inv is not None and qr is not None:
        inv = _settle(inv, qr)
    return Parsed(inv, findings, fields=reads)


_TITLES = {"31": "专用发票", "32": "普通发票", "10": "普通发票", "20": "专用发票", "08": "专用发票"}


def _upright(image: Image.Image, turn: int) -> Image.Image:
    """The page turned by the QR's orientation (quarter turns are exact and fast)."""
    quarter = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180}
    quarter[-90] = quarter[270] = Image.Transpose.ROTATE_270
    if turn in quarter:
        return image.transpose(quarter[turn])
    return image.rotate(turn, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")


def _corners(code: object) -> list[tuple[float, float]]:
    position = getattr(code, "position", None)
    names = ("top_left", "top_right", "bottom_right", "bottom_left")
    try:
        return [(float(getattr(position, n).x), float(getattr(position, n).y)) for n in names]
    except (AttributeError, TypeError, ValueError):
        return []


def _turned(
    point: tuple[float, float], turn: int, old: tuple[int, int], new: tuple[int, int]
) -> tuple[float, float]:
    """Where a point lands when the picture is turned `turn` degrees anticlockwise (expanded)."""
    rad = math.radians(turn)
    x, y = point[0] - old[0] / 2, point[1] - old[1] / 2
    return (
        x * math.cos(rad) + y * math.sin(rad) + new[0] / 2,
        -x * math.sin(rad) + y * math.cos(rad) + new[1] / 2,
    )


def _covers_header(qr: QrPayload) -> bool:
    """The QR repeats everything the header beside it prints (title, code, number, date, check
    code), so that band need not be read: 数电票, and electronic invoices whose QR has the check code."""
    if not (qr.number and parse_date(qr.date)) or qr.kind_code not in _TITLES:
        return False
    return qr.amount_is_total or bool(qr.code and qr.check_code)


def _header_band(corners: list[tuple[float, float]]) -> tuple[float, float]:
    """The heights of the header printed beside the QR (the QR's own, trimmed at the bottom so that
    the first line under it is always read)."""
    top = min(y for _, y in corners)
    bottom = max(y for _, y in corners)
    return top - 0.25 * (bottom - top), bottom - 0.1 * (bottom - top)


def _money(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return parse_yuan(text.replace("¥", "").replace(",", ""))
    except MoneyError:
        return None


def _repair(f: Fields) -> Fields:
    """Totals that OCR missed, from the others: total = amount + tax, amount = Σ lines."""
    amount, tax, total = _money(f.amount), _money(f.tax), _money(f.total)
    if total is None and amount is not None and tax is not None:
        f.total = format_fen(amount + tax)
    if amount is None and total is not None and tax is not None:
        f.amount = format_fen(total - tax)
    if tax is None and total is not None and amount is not None:
        f.tax = format_fen(total - amount)
    for row in f.items:
        if not row.get("quantity"):
            row["quantity"] = _quantity(row.get("amount"), row.get("unit_price")) or ""
    return f


def _quantity(amount: str | None, price: str | None) -> str | None:
    """数量 = 金额 / 单价 when the division is exact (a small digit OCR did not see)."""
    fen, unit = _money(amount), _money(price)
    if not fen or not unit or fen % unit:
        return None
    return str(fen // unit)


def _settle(inv: Invoice, qr: QrPayload) -> Invoice:
    """Put the QR's amount in place when OCR misread it, and header totals that the lines and the
    QR both contradict (a lost minus sign, a misread digit) from the lines."""
    if qr.amount is not None:
        if qr.amount_is_total and inv.total != qr.amount:
            inv = replace(inv, total=qr.amount)
        if not qr.amount_is_total and inv.amount != qr.amount:
            inv = replace(inv, amount=qr.amount)
    lines_amount = sum(i.amount for i in inv.items)
    lines_tax = sum(i.tax for i in inv.items)
    if inv.items and lines_amount + lines_tax == inv.total:
        inv = replace(inv, amount=lines_amount, tax=lines_tax)
    elif inv.items and inv.amount + inv.tax != inv.total and inv.amount == lines_amount:
        inv = replace(inv, tax=inv.total - inv.amount)
    red = inv.total < 0
    if red != (inv.status is Status.RED):
        inv = replace(
            inv,
            status=Status.RED if red else Status.NORMAL,
            original=original_from_remarks(inv.remarks) if red else None,
        )
    return inv
