"""The older invoice layout (增值税电子普通/专用发票, paper 增值税发票, provincial 通用发票 such as the
车辆通行费 invoice): fields from positioned text, by the template's geometry and labels.

The page is a template layer (title, labels, frame) with a data layer placed into its cells; the
text order says nothing about which value fills which cell, and a value need not sit on its
label's line. So each field is read from the region its label opens: the header fields (代码, 号码,
开票日期, 校验码) from the label's row; the parties from the band of four labels (名称, 纳税人识别号,
地址电话, 开户行及账号) left of the 密码区 (buyer) or the 备注 (seller), each value going to the label
whose row it is nearest; the items and totals by the table's columns (`older_items`).
Paper invoices print the code alone and the number after `No`; those are read without labels.
A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import re

from fapiao.model import Kind, Party
from fapiao.money import MoneyError, from_words
from fapiao.parse import older_items
from fapiao.parse.layout import Box, Fields
from fapiao.parse.ofd_fields import kind_from_code, words_in
from fapiao.parse.older_geometry import (
    after_label,
    median_height,
    money_text,
    prepare,
    right_on_row,
    same_row,
)

_PARTY_LABELS = (
    ("name", ("名称",)),
    ("tax_id", ("纳税人识别号", "纳税人识别")),
    ("address", ("地址", "电话")),
    ("bank", ("开户行", "账号")),
)
_ANY_PARTY_LABEL = tuple(label for _, labels in _PARTY_LABELS for label in labels)
_TAX_ID = re.compile(r"[0-9A-Z]{15,20}")
_DIGITS = re.compile(r"\d+")
_DIGITAL_NUMBER = re.compile(r"发票号码.*\d{20}|\d{20}.*发票号码")
_NO = re.compile(r"^(?:№|N[oO0º°]|N\.)[.:：]?(\d{8})")  # the paper number as printed or misread
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_TITLE_SUFFIX = re.compile(r"[（(][\u4e00-\u9fff]{1,6}[)）]$")
_NOT_TITLE = ("代码", "号码", "日期", "专用章", "监制", "统一发票", "联")


def extract(boxes: list[Box]) -> Fields | None:
    """The page's fields, or None when the page is not this layout."""
    if any(_DIGITAL_NUMBER.search(b.key) for b in boxes):
        return None  # a 数电票's 20-digit number (as `_is_older` finds it, without the clean-up)
    page = prepare(boxes)
    if not _is_older(page):
        return None
    h = median_height(page)
    f = Fields()
    f.title = _title(page)
    table_top, totals_row = _table_bounds(page, h)
    buyer, seller = _party_labels(page, table_top, totals_row)
    offsets: list[float] = []
    f.buyer = _party(page, buyer, h, side="密", conf=f.confidence, role="buyer", offsets=offsets)
    f.seller = _party(page, seller, h, side="备", conf=f.confidence, role="seller", offsets=offsets)
    # The data layer is placed as a whole: its offset from the template, seen at the tax IDs,
    # is where every other value sits from its label.
    dy = sum(offsets) / len(offsets) if offsets and abs(max(offsets, key=abs)) > 0.3 * h else 0.0
    _header(page, h, f, dy)
    table = older_items.header(page, h, _bottom(buyer), totals_row.cy if totals_row else 1e9)
    if table is not None:
        # the 合计 row's values end the items, and sit higher when the data layer does
        bottom = totals_row.y0 + min(dy, 0.0) if totals_row else _top(seller, 1e9)
        scores: list[dict[str, float]] = []
        f.items = older_items.rows(page, table, h, bottom, scores)
        for n, low in enumerate(scores, start=1):
            f.confidence.update({f"items[{n}].{key}": score for key, score in low.items()})
    if totals_row is not None:
        row = _moved(totals_row, dy)
        f.amount, f.tax = (v or None for v in older_items.totals(page, table, row, h, f.confidence))
    if table is not None and "tax" not in table.keys and f.items:
        f.tax = f.tax or "0.00"
    _grand_total(page, h, f, dy)
    f.remarks = _remarks(page, seller, h)
    f.issuer = _after_on_row(page, "开票人", h)
    f.kind = _kind(f.title, f.code or "", table)
    return f


def _is_older(page: list[Box]) -> bool:
    """A 机器编号, a 密码区, a 校验码, a 发票代码 or a `No` number, and no 20-digit 发票号码
    (数电票). OCR may leave the header beside the QR unread and misread one of 密 码 区."""
    keys = [b.key for b in page]
    if any("发票号码" in k and re.search(r"\d{20}", k) for k in keys):
        return False
    marks = (
        any(w in k for k in keys for w in ("机器编号", "密码区", "发票代码", "校验码"))
        or len({"密", "码", "区"} & set(keys)) >= 2
        or any(_NO.match(k) for k in keys)
    )
    return marks and any("名称" in k for k in keys)


def _title(page: list[Box]) -> str:
    """The printed title (`上海增值税电子普通发票`, `江苏省车辆通行费通用（电子）发票`): the largest line
    ending in 发票 that is not another label."""
    best, size = "", 0.0
    for box in page:
        for line in box.text.replace("\r", "\n").split("\n"):
            key = "".join(line.split())
            bare = _TITLE_SUFFIX.sub("", key)  # 增值税电子普通发票（成品油）
            if len(bare) >= 6 and bare.endswith("发票") and not any(w in bare for w in _NOT_TITLE):
                height = box.h / max(1, box.text.count("\n") + 1)
                if height > size:
                    best, size = key, height
    return best


def _moved(label: Box, dy: float) -> Box:
    """Where the label's value row is when the data layer sits `dy` below the template."""
    return Box(label.text, label.x0, label.y0 + dy, label.x1, label.y1 + dy) if dy else label


def _header(page: list[Box], h: float, f: Fields, dy: float) -> None:
    f.code = _labelled_digits(page, "发票代码", h, (12, 10), dy=dy)
    f.number = _labelled_digits(page, "发票号码", h, (8,), dy=dy)
    if not f.number or not f.code:
        code, number = _paper_identity(page, h)
        f.code, f.number = f.code or code, f.number or number
    f.date = _date(page, h, dy)
    check = _labelled_digits(page, "校验码", h, (20,), join=True, dy=dy)
    f.check_code = check


def _labelled_digits(
    page: list[Box],
    label: str,
    h: float,
    lengths: tuple[int, ...],
    *,
    join: bool = False,
    dy: float = 0.0,
) -> str | None:
    for box in page:
        if label not in box.key:
            continue
        texts = [after_label(box.text, label[-1]), *_row_texts(page, _moved(box, dy), h)]
        if join:  # the 校验码 is printed in groups of five
            digits = "".join(_DIGITS.findall("".join(texts)))
            return digits[: lengths[0]] if len(digits) >= lengths[0] else None
        for text in texts:
            for run in _DIGITS.findall(text):
                if len(run) in lengths:
                    return run
    return None


def _row_texts(page: list[Box], label: Box, h: float) -> list[str]:
    """The texts right of a header label: on its row, else a little off it (the data layer is
    placed into the cell, not onto the label's line)."""
    for slack in (0.8, 1.3):
        texts = [b.text for b in right_on_row(page, label, h, slack=slack)]
        if any(ch.isdigit() for t in texts for ch in t):
            return texts
    return []


def _paper_identity(page: list[Box], h: float) -> tuple[str | None, str | None]:
    """Paper invoices: the code printed alone (10 or 12 digits) and the number after `No`, in the
    header (above the buyer block); the 机器编号 beside them is not the code."""
    tops = [b.y0 for b in page if b.key.startswith("名称")]
    limit = min(tops) if tops else 1e9
    machine = {
        id(b)
        for label in page
        if "机器编号" in label.key
        for b in [label, *right_on_row(page, label, h, reach=15)]
    }
    code = number = None
    for box in sorted(page, key=lambda b: (b.y0, b.x0)):
        if box.y0 >= limit or id(box) in machine:
            continue
        key = box.key
        if number is None and (m := _NO.match(key)):
            number = m.group(1)
        elif code is None and re.fullmatch(r"\d{10}|\d{12}", key):
            code = key
    return code, number


def _date(page: list[Box], h: float, dy: float) -> str | None:
    """开票日期 as printed: whole (`2018年03月23日`) or split between the template's `年 月 日` and
    the data layer's `2019 07 20`."""
    for box in page:
        if "开票日期" not in box.key:
            continue
        text = " ".join([after_label(box.text, "期"), *_row_texts(page, _moved(box, dy), h)])
        if m := _DATE.search(text):
            return m.group(0)
        if day := _date_in_runs(_DIGITS.findall(text)):
            return day
    found = next((m for b in page if (m := _DATE.search(b.text))), None)
    return found.group(0) if found else None


def _date_in_runs(runs: list[str]) -> str | None:
    """The first year, month and day among digit runs (`2019 07 20`, `20190720`); overlapping
    layers can repeat pieces of either (`年20`, `年2022 03 01 月`), so runs that are no year
    are passed over."""
    for n, run in enumerate(runs):
        if len(run) == 8:
            run, month, day = run[:4], run[4:6], run[6:]
        elif len(run) == 4 and n + 2 < len(runs):
            month, day = runs[n + 1], runs[n + 2]
        else:
            continue
        if 1990 <= int(run) <= 2099 and 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            return f"{run}年{int(month):02d}月{int(day):02d}日"
    return None


def _table_bounds(page: list[Box], h: float) -> tuple[float, Box | None]:
    """The top of the item header (金额 label) and the 合计 label's box."""
    totals = [
        b for b in page if b.key.startswith("合计") and "价税" not in b.key and len(b.key) <= 4
    ]
    totals_row = min(totals, key=lambda b: b.cy) if totals else None
    limit = totals_row.cy if totals_row else 1e9
    heads = [b.y0 for b in page if "金额" in b.key and len(b.key) <= 8 and b.cy < limit]
    return (min(heads) if heads else limit), totals_row


def _party_labels(
    page: list[Box], table_top: float, totals_row: Box | None
) -> tuple[dict[str, Box], dict[str, Box]]:
    """The buyer's labels (above the table) and the seller's (below the 合计 row)."""
    buyer: dict[str, Box] = {}
    seller: dict[str, Box] = {}
    split = min(table_top, totals_row.cy if totals_row else 1e9)
    for box in sorted(page, key=lambda b: b.cy):
        for field, labels in _PARTY_LABELS:
            if box.key.startswith(labels):
                # without a table between them, the second of each label is the seller's
                side = buyer if box.cy < split and field not in buyer else seller
                side.setdefault(field, box)
                break
    return buyer, seller


def _top(labels: dict[str, Box], default: float) -> float:
    return min((b.y0 for b in labels.values()), default=default)


def _bottom(labels: dict[str, Box]) -> float:
    return max((b.y1 for b in labels.values()), default=0.0)


def _party(
    page: list[Box],
    labels: dict[str, Box],
    h: float,
    *,
    side: str,
    conf: dict[str, float],
    role: str,
    offsets: list[float],
) -> Party:
    """A party's name and tax ID from the band of its labels; the 密码区 or 备注 bounds it right."""
    if "name" not in labels:
        return Party("")
    top, bottom = _top(labels, 0) - 0.8 * h, _bottom(labels) + 0.8 * h
    left = min(b.x0 for b in labels.values()) + 2 * h
    right = min(
        (b.x0 for b in page if b.key in (side, "密码区", "备注") and top < b.cy < bottom),
        default=1e9,
    )
    label_ids = {id(b) for b in labels.values()}
    values = [
        b
        for b in page
        if id(b) not in label_ids
        and top < b.cy < bottom
        and left < b.x0 < right
        and not b.key.startswith(_ANY_PARTY_LABEL)
    ]
    tax_id, tax_box = _party_tax_id(labels, values, h)
    # The data layer is placed as a whole: the tax ID's offset from its label is everyone's.
    offset = tax_box.cy - labels["tax_id"].cy if tax_box is not None else 0.0
    if tax_box is not None:
        offsets.append(offset)
    rows: dict[str, list[Box]] = {field: [] for field in labels}
    for box in values:
        if box is not tax_box:
            nearest = min(labels, key=lambda k: abs(labels[k].cy + offset - box.cy))
            rows[nearest].append(box)
    name, score = _party_name(labels["name"], rows["name"], h, offset)
    conf[f"{role}.name"] = score
    conf[f"{role}.tax_id"] = (tax_box or labels["tax_id"]).score if "tax_id" in labels else 1.0
    return Party(name=name, tax_id=tax_id)


def _party_tax_id(labels: dict[str, Box], values: list[Box], h: float) -> tuple[str, Box | None]:
    """The tax ID after its label, or the ID-shaped value nearest its label's row."""
    label = labels.get("tax_id")
    if label is None:
        return "", None
    inline = _clean_id(after_label(label.text, "号"))
    if _TAX_ID.fullmatch(inline):
        return inline, None
    candidates = [
        b for b in values if _TAX_ID.fullmatch(_clean_id(b.key)) and abs(b.cy - label.cy) < 1.5 * h
    ]
    if not candidates:
        return "", None
    best = min(candidates, key=lambda b: abs(b.cy - label.cy))
    return _clean_id(best.key), best


def _party_name(label: Box, boxes: list[Box], h: float, offset: float) -> tuple[str, float]:
    inline = after_label(label.text, "称")
    boxes = sorted(boxes, key=lambda b: (abs(b.cy - label.cy - offset) > 0.6 * h, b.x0))
    if inline:
        start_x, score, first = label.x1, label.score, label
        parts = [label.text[label.text.find("称") + 1 :].strip().lstrip(":：").strip()]
    elif boxes:
        first = boxes.pop(0)
        start_x, score, parts = first.x1, first.score, [first.text]
    else:
        return "", 1.0
    rest = []
    for box in sorted(boxes, key=lambda b: b.x0):  # the rest of the name, printed right after it
        if 0 <= box.x0 - start_x < 1.5 * h and same_row(box, first, h, slack=0.5):
            parts.append(box.text)
            start_x, score = box.x1, min(score, box.score)
        else:
            rest.append(box)
    if not inline:  # a long name wrapped in its cell: lines starting where the first one starts
        for box in sorted(rest, key=lambda b: b.cy):
            if abs(box.x0 - first.x0) < 2 * h and abs(box.cy - first.cy) > 0.5 * h:
                if box.cy < first.cy:
                    parts.insert(0, box.text)
                else:
                    parts.append(box.text)
                score = min(score, box.score)
    return "".join(parts).strip(), score


def _clean_id(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def _grand_total(page: list[Box], h: float, f: Fields, dy: float) -> None:
    """价税合计: （小写） then the amount; （大写） then the amount in words."""
    for box in page:
        if "小写" in box.key:
            texts = [after_label(box.key, ")"), *_row_texts(page, _moved(box, dy), h)]
            for text in texts:
                value = money_text(text) if re.search(r"\d", text) else ""
                if value:
                    f.total = value
                    break
            break
    for box in page:
        if "大写" in box.key:
            f.words = None
            for slack in (0.8, 1.3):  # on the label's row, else a little off it
                texts = [after_label(box.key, ")")]
                texts += [
                    b.key
                    for b in right_on_row(page, _moved(box, dy), h, slack=slack)
                    if "小写" not in b.key
                ]
                words = words_in("".join(t for t in texts if not re.search(r"\d", t)))
                try:
                    from_words(words)
                except MoneyError:
                    continue
                f.words = words
                break
            break


def _remarks(page: list[Box], seller: dict[str, Box], h: float) -> str:
    """备注: the text right of the 备/注 label column, in the seller block's band."""
    marks = [b for b in page if b.key in ("备", "注", "备注") or b.key.startswith("备注")]
    if not marks or not seller:
        return ""
    top, bottom = _top(seller, 0) - 0.8 * h, _bottom(seller) + 0.8 * h
    left = max(b.x1 for b in marks)
    inside = [
        b for b in page if top < b.cy < bottom and b.x0 >= left - 0.3 * h and "专用章" not in b.key
    ]
    inline = [after_label(b.text, "注") for b in marks if b.key.startswith("备注")]
    return "".join(inline + [b.text for b in sorted(inside, key=lambda b: (b.cy, b.x0))]).strip()


def _after_on_row(page: list[Box], label: str, h: float) -> str:
    for box in page:
        if label in box.key:
            inline = after_label(box.text, label[-1])
            if inline:
                return inline
            nxt = right_on_row(page, box, h, reach=8)
            value = nxt[0].text.strip() if nxt else ""
            return "" if "销售方" in value or value.endswith((":", "：")) else value
    return ""


def _kind(title: str, code: str, table: older_items.Table | None) -> str:
    """增值税 titles name the kind (专用/普通, 电子 or paper); a title without 增值税 and a table
    without tax columns (通行费 通用发票) is not a VAT invoice."""
    vat_table = table is None or "tax" in table.keys or "tax_rate" in table.keys
    if "专用" in title or "普通" in title:
        electronic = "电子" in title
        if "专用" in title:
            return (Kind.VAT_ELECTRONIC_SPECIAL if electronic else Kind.VAT_SPECIAL).value
        return (Kind.VAT_ELECTRONIC_NORMAL if electronic else Kind.VAT_NORMAL).value
    if title and not vat_table:
        return Kind.OTHER.value
    return kind_from_code(code, title).value if code else ""
