"""Invoice fields from positioned text (a PDF text layer or OCR boxes), by labels and layout.

No template per issuer and no fixed coordinates: values are found next to their printed labels
(发票号码, 名称, 纳税人识别号, 合计, （小写）, 备注, 开票人 …); the first 名称 / 纳税人识别号 in reading order is
the buyer's and the second the seller's, which holds for the 数电票 layout (side by side) and the
older one (buyer above, seller below); item columns are found from the table header.

A helper module of the parse package (no `sniff`/`parse`); imports only the model, codec, money,
findings and the shared field readers.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import dataclass, field

from fapiao.codec import parse_date
from fapiao.model import RATE_EXEMPT, RATE_NONTAXABLE, Kind, Party, Status
from fapiao.money import MoneyError, format_fen, from_words, parse_yuan
from fapiao.parse.ofd_fields import (
    MARKERS,
    kind_from_code,
    kind_from_title,
    original_from_remarks,
    printed_rate,
    words_in,
)
from fapiao.parse.reading import FieldRead, Reads, complete_totals


@dataclass(slots=True)
class Box:
    """One run of text and where it sits (any unit, y grows downwards)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    key: str = ""  # the text without spaces, full-width colons and currency signs
    score: float = 1.0  # how sure OCR is of the text (1.0 for a text layer)

    def __post_init__(self) -> None:
        self.text = self.text.strip()
        self.key = (
            "".join(self.text.split()).replace("：", ":").replace("￥", "¥").replace("（", "(")
        ).replace("）", ")")

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def h(self) -> float:
        return self.y1 - self.y0


@dataclass(slots=True)
class Fields:
    """What the page says, each value as printed (None when not found)."""

    title: str = ""
    code: str | None = None
    number: str | None = None
    date: str | None = None
    check_code: str | None = None
    buyer: Party = field(default_factory=lambda: Party(""))
    seller: Party = field(default_factory=lambda: Party(""))
    items: list[dict[str, str]] = field(default_factory=list)
    amount: str | None = None
    tax: str | None = None
    total: str | None = None
    words: str | None = None
    remarks: str = ""
    issuer: str = ""
    kind: str = ""  # the kind when the layout's reader knows it better than the title does
    # canonical path -> how sure the reader is of it (OCR scores); absent means 1.0
    confidence: dict[str, float] = field(default_factory=dict)
    # the page is the 数电票 layout: its number has 20 digits even when OCR misread some
    digital: bool = False


_MONEY = re.compile(r"-?\d[\d,]*\.\d{1,2}|-?\d+")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_TAX_ID = re.compile(r"[0-9A-Z]{15,20}")
_LABEL_END = re.compile(r"^[:：\s]+")
_HEADERS = {
    "name": ("名称",),
    "spec": ("规格",),
    "unit": ("单位",),
    "quantity": ("数量",),
    "unit_price": ("单价",),
    "amount": ("金额",),
    "tax_rate": ("税率", "征收率"),
    "tax": ("税额",),
}


class Page:
    """Boxes grouped into lines in reading order, with label look-ups."""

    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = [b for b in boxes if b.key]
        heights = [b.h for b in self.boxes if b.h > 0]
        self.h = statistics.median(heights) if heights else 1.0
        self.lines: list[list[Box]] = []
        centre = 0.0
        for box in sorted(self.boxes, key=lambda b: b.cy):
            line = self.lines[-1] if self.lines else None
            if line and abs(box.cy - centre) < 0.5 * self.h:
                line.append(box)
                centre += (box.cy - centre) / len(line)
            else:
                self.lines.append([box])
                centre = box.cy
        for line in self.lines:
            line.sort(key=lambda b: b.x0)
        self.order = [b for line in self.lines for b in line]
        self.line_of = {id(b): n for n, line in enumerate(self.lines) for b in line}

    def labelled(self, label: str, *, start: bool = False) -> list[Box]:
        return [b for b in self.order if (b.key.startswith(label) if start else label in b.key)]

    def right_of(self, box: Box, *, gap: float = 40.0) -> list[Box]:
        line = self.lines[self.line_of[id(box)]]
        return [b for b in line if b.x0 >= box.x1 - 0.3 * self.h and b.x0 - box.x1 < gap * self.h]

    def value(self, box: Box, label: str, *, gap: float = 40.0) -> str:
        """Text after `label` in the same box, else the next box to the right on its line."""
        rest = box.text[box.text.find(label[-1]) + 1 :] if label[-1] in box.text else ""
        rest = _LABEL_END.sub("", rest).strip()
        if rest:
            return rest
        nxt = self.right_of(box, gap=gap)
        return nxt[0].text.strip() if nxt else ""


def _after(text: str, label: str) -> str:
    at = text.find(label)
    return _LABEL_END.sub("", text[at + len(label) :]) if at >= 0 else text


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def extract(boxes: list[Box]) -> Fields:
    page = Page(boxes)
    f = Fields()
    f.title = next(
        (
            b.text
            for b in page.order
            if "发票" in b.key
            and len(b.key) >= 6
            and ("专用" in b.key or "普通" in b.key)
            and "号码" not in b.key
        ),
        "",
    )
    for attr, label in (("number", "发票号码"), ("code", "发票代码")):
        for box in page.labelled(label):
            digits = _digits(page.value(box, label))
            if digits:
                setattr(f, attr, digits)
                break
    for box in page.labelled("开票日期"):
        f.date = page.value(box, "开票日期")
        break
    if not f.date or not _DATE.search(f.date):
        found = next((m for b in page.order if (m := _DATE.search(b.text))), None)
        f.date = found.group(0) if found else f.date
    for box in page.labelled("校验码"):
        parts = [_digits(_after(box.key, "校验码"))] + [_digits(b.key) for b in page.right_of(box)]
        f.check_code = "".join(parts)[:20] or None
        break
    _parties(page, f)
    _table(page, f)
    _totals(page, f)
    for box in page.labelled("备注", start=True):
        rest = _after(box.text, "注") if box.key != "备注" else ""
        parts = [rest] if rest.strip() else []
        parts += [b.text for b in page.right_of(box) if b.x0 > box.x0]
        f.remarks = "".join(p.strip() for p in parts)
        break
    for box in page.labelled("开票人"):
        value = page.value(box, "开票人", gap=8)
        f.issuer = "" if value.endswith((":", "：")) or "销售方" in value else value
        break
    return f


def _parties(page: Page, f: Fields) -> None:
    names = [b for b in page.labelled("名称", start=True)]
    values = [page.value(b, "名称", gap=12) for b in names[:2]]
    ids = [_tax_id(page, box) for box in page.labelled("纳税人识别号")[:2]]
    values += [""] * (2 - len(values))
    ids += [""] * (2 - len(ids))
    f.buyer = Party(name=_not_label(values[0]), tax_id=ids[0])
    f.seller = Party(name=_not_label(values[1]), tax_id=ids[1])


def _tax_id(page: Page, box: Box) -> str:
    """The ID after its label: in the label's own box, in the next box, or split across both."""
    at = box.key.find("纳税人识别号")
    rest = _clean_id(box.key[at + len("纳税人识别号") :])
    nxt = page.right_of(box, gap=8)
    following = _clean_id(nxt[0].key) if nxt else ""
    for candidate in (rest, following, rest + following):
        if _TAX_ID.fullmatch(candidate):
            return candidate
    return ""


def _clean_id(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def _not_label(text: str) -> str:
    return "" if "纳税人识别号" in text or text.endswith((":", "：")) else text


def _table(page: Page, f: Fields) -> None:
    header_n = next(
        (
            n
            for n, line in enumerate(page.lines)
            if any("金额" in b.key for b in line)
            and any("税额" in b.key for b in line)
            and not any("合计" in b.key for b in line)
        ),
        None,
    )
    if header_n is None:
        return
    columns: dict[str, float] = {}
    for box in page.lines[header_n]:
        for key, labels in _HEADERS.items():
            if key not in columns and any(label in box.key for label in labels):
                columns[key] = box.cx
                break
    if "amount" not in columns:
        return
    name_right = min((x for k, x in columns.items() if k != "name"), default=0.0)
    for line in page.lines[header_n + 1 :]:
        if any(b.key.startswith("合") and "计" in b.key and "价税" not in b.key for b in line):
            break
        cells: dict[str, list[str]] = {}
        for box in line:
            key = _column(box, columns, name_right, page.h)
            cells.setdefault(key, []).append(box.text)
        row = {k: "".join(v).strip() for k, v in cells.items()}
        if row.get("amount") and _MONEY.search(row["amount"].replace("¥", "")):
            f.items.append(row)
        elif f.items and row.get("name") and len(row) == 1:
            f.items[-1]["name"] = f.items[-1].get("name", "") + row["name"]


def _column(box: Box, columns: dict[str, float], name_right: float, h: float) -> str:
    if "name" in columns and box.x1 < name_right - 2 * h and box.x0 < columns["name"] + 6 * h:
        return "name"
    return min(columns, key=lambda k: abs(columns[k] - box.cx))


def _totals(page: Page, f: Fields) -> None:
    for line in page.lines:
        if any(
            b.key.startswith("合")
            and b.key.rstrip(":").endswith("计")
            and "价税" not in b.key
            and len(b.key) <= 4
            for b in line
        ):
            amounts = [
                m.group(0)
                for b in line
                for m in [_MONEY.search(b.key.replace("¥", ""))]
                if m and not b.key.startswith("合")
            ]
            if amounts:
                f.amount = amounts[0]
                f.tax = amounts[-1] if len(amounts) > 1 else None
            break
    for box in page.labelled("小写"):
        text = _after(box.key, "小写)") if "小写)" in box.key else ""
        if not _MONEY.search(text):
            nxt = page.right_of(box, gap=20)
            text = nxt[0].key if nxt else ""
        m = _MONEY.search(text.replace("¥", ""))
        f.total = m.group(0) if m else None
        break
    for box in page.labelled("大写"):
        pieces = [_after(box.text, "）") if "）" in box.text else ""]
        pieces += [b.text for b in page.right_of(box) if "小写" not in b.key and "¥" not in b.key]
        f.words = words_in("".join(pieces)) or None
        break


def to_reads(f: Fields, source: str) -> Reads:
    """Fields as printed -> readings in canonical form (`reading.build` makes the invoice). A value
    that cannot be normalised is kept as printed, so the person reviewing it sees what was there."""
    conf = f.confidence
    reads: Reads = {}

    def put(path: str, value: str | None, default: float = 1.0) -> None:
        if value not in (None, ""):
            reads[path] = FieldRead(value.strip(), source, conf.get(path, default))

    number = f.number or ""
    digital = f.digital or len(number) == 20
    kind = kind_from_title(f.title, "0" * 20 if digital else number) or (
        kind_from_code(f.code or "", f.title)
        if f.code
        else Kind.DIGITAL_NORMAL
        if digital
        else None
    )
    kind = Kind(f.kind) if f.kind else kind
    put("kind", kind.value if kind else None, 0.8)
    put("code", f.code)
    put("number", f.number)
    put("issue_date", _day(f.date or "") or f.date)
    put("check_code", f.check_code)
    for role, party in (("seller", f.seller), ("buyer", f.buyer)):
        put(f"{role}.name", party.name)
        put(f"{role}.tax_id", party.tax_id)
    for n, row in enumerate(f.items, start=1):
        prefix = f"items[{n}]."
        rate = _rate(row.get("tax_rate", ""), row.get("tax", ""))
        put(prefix + "name", row.get("name"))
        for key in ("spec", "unit", "quantity", "unit_price"):
            put(prefix + key, row.get(key))
        put(prefix + "amount", _money_text(row.get("amount")))
        put(prefix + "tax_rate", rate)
        tax = row.get("tax") or ("0" if rate in (RATE_EXEMPT, RATE_NONTAXABLE) else "")
        put(prefix + "tax", _money_text(tax, marker_zero=True))
    put("amount", _money_text(f.amount))
    put("tax", _money_text(f.tax, marker_zero=True))
    put("total", _money_text(f.total))
    if "amount" not in reads and f.items:
        _sum_items(reads, "amount", source)
    complete_totals(reads)
    if f.words:
        try:
            from_words(f.words)
            put("total_words", f.words)
        except MoneyError:
            pass
    put("remarks", f.remarks)
    put("issuer", f.issuer)
    _red(reads, f.remarks, source)
    return reads


def _day(text: str) -> str | None:
    """2018年03月23日, 2018年3月23日, 2018-03-23, 20180323 -> 2018-03-23 (None when not a date)."""
    m = _DATE.search(text)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return None
    day = parse_date("".join(text.split()))
    return day.isoformat() if day else None


def _rate(text: str, tax_text: str) -> str:
    return printed_rate(text, tax_text) or (text or "").strip()


def _money_text(text: str | None, *, marker_zero: bool = False) -> str | None:
    raw = (text or "").strip().replace("¥", "").replace("￥", "").replace(" ", "")
    if not raw:
        return None
    if raw in MARKERS:
        return "0.00" if marker_zero else raw
    try:
        return format_fen(parse_yuan(raw))
    except MoneyError:
        return raw


def _sum_items(reads: Reads, key: str, source: str) -> None:
    total = 0
    confidence = 1.0
    for path, read in reads.items():
        if path.startswith("items[") and path.endswith("]." + key):
            try:
                total += parse_yuan(read.value)
            except MoneyError:
                return
            confidence = min(confidence, read.confidence)
    reads[key] = FieldRead(format_fen(total), "derived", confidence * 0.9)


def _red(reads: Reads, remarks: str, source: str) -> None:
    negative = False
    for key in ("total", "amount"):
        read = reads.get(key)
        if read is not None and read.value.startswith("-"):
            negative = True
    if not negative:
        return
    reads["status"] = FieldRead(Status.RED.value, "derived", 0.9)
    original = original_from_remarks(remarks)
    if original is not None:
        if original.code:
            reads["original.code"] = FieldRead(original.code, source, 0.9)
        reads["original.number"] = FieldRead(original.number, source, 0.9)
