"""Where things sit on an older invoice: the boxes cleaned up, labels found, rows and bands.

The older layout is a fixed template (labels, frame) with a data layer placed into its cells, so a
value is found by the template's geometry rather than by the reading order: the band of rows a
label starts, the column a header names, the side column of the 密码区 and the 备注. OCR breaks
the template's spaced labels (`名　　　　称`, `合　　计`) into pieces; they are joined here. The
cipher text of the 密码区 (digits and `+-*/<>`) is dropped before anything can read it as a value.
A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import re
import statistics

from fapiao.parse.layout import Box

# Spaced template labels that OCR reads as two boxes on one line: (first, start of the second).
_SPLIT_LABELS = (("名", "称"), ("合", "计"), ("校验", "码"), ("金", "额"), ("税", "额"))
_CIPHER_CHARS = set("0123456789+-*/<>")
_CIPHER_OPS = set("+-*/<>")
_NUMBER = re.compile(r"^[-－]?[¥￥Y]?[-－]?\d[\d,]*(\.\d+)?$")
_MONEY = re.compile(r"^[-－]?[¥￥Y]?[-－]?\d[\d,]*(\.\d{1,2})?$")


def is_cipher(key: str) -> bool:
    """A line of the 密码区: digits and `+-*/<>` only, long, with several operators."""
    if len(key) < 16 or not set(key) <= _CIPHER_CHARS:
        return False
    return sum(ch in _CIPHER_OPS for ch in key) >= 3


def median_height(boxes: list[Box]) -> float:
    heights = [b.h for b in boxes if b.h > 0 and len(b.key) <= 30]
    return statistics.median(heights) if heights else 1.0


def prepare(boxes: list[Box]) -> list[Box]:
    """Boxes without cipher text, with the spaced labels OCR split joined again."""
    out = [b for b in boxes if b.key and not is_cipher(b.key)]
    h = median_height(out)
    for first, second in _SPLIT_LABELS:
        out = _join_label(out, first, second, h)
    return out


def _join_label(boxes: list[Box], first: str, second: str, h: float) -> list[Box]:
    heads = [b for b in boxes if b.key == first]
    if not heads:
        return boxes
    used: set[int] = set()
    joined: list[Box] = []
    for head in heads:
        tails = [
            b
            for b in boxes
            if b.key.startswith(second)
            and id(b) not in used
            and abs(b.cy - head.cy) < 0.6 * h
            and head.x1 - 0.3 * h <= b.x0 < head.x1 + 8 * h
        ]
        if not tails:
            continue
        tail = min(tails, key=lambda b: b.x0)
        used.update((id(head), id(tail)))
        joined.append(
            Box(
                first + tail.text,
                head.x0,
                min(head.y0, tail.y0),
                tail.x1,
                max(head.y1, tail.y1),
                score=min(head.score, tail.score),
            )
        )
    return [b for b in boxes if id(b) not in used] + joined


def same_row(box: Box, anchor: Box, h: float, *, slack: float = 0.8) -> bool:
    return abs(box.cy - anchor.cy) < slack * h


def right_on_row(
    boxes: list[Box], label: Box, h: float, *, reach: float = 30.0, slack: float = 0.8
) -> list[Box]:
    """Boxes on the label's row that start to its right, nearest first."""
    cy, near, x1, start, reach_h = label.cy, slack * h, label.x1, label.x1 - 0.5 * h, reach * h
    found = [  # same_row's test written out: this runs for every box of the page per label
        b
        for b in boxes
        if b is not label
        and abs((b.y0 + b.y1) / 2 - cy) < near
        and b.x0 >= start
        and b.x0 - x1 < reach_h
    ]
    return sorted(found, key=lambda b: b.x0)


def after_label(text: str, label_end: str) -> str:
    """The text after the label's last character and its colon (`称：个人` -> `个人`)."""
    key = "".join(text.split())
    at = key.find(label_end)
    if at < 0:
        return ""
    return key[at + len(label_end) :].lstrip(":：")


def is_number(key: str) -> bool:
    """A number of any precision (单价 and 数量 print up to 8 decimals)."""
    return bool(_NUMBER.match(key.replace(",", "")))


def is_money(key: str) -> bool:
    return bool(_MONEY.match(key.replace(",", "")))


def money_text(key: str) -> str:
    """`¥375.47`, `￥ 243.00`, `Y7.29` (OCR's ¥), `－0.01` -> the number as printed."""
    text = key.replace("－", "-").replace(",", "")
    negative = "-" in text[:3]
    digits = re.search(r"\d+(\.\d{1,2})?", text)
    if not digits:
        return ""
    return ("-" if negative else "") + digits.group(0)


def lines(boxes: list[Box], h: float) -> list[list[Box]]:
    """Boxes grouped into text lines by their centres, top to bottom, each left to right."""
    out: list[list[Box]] = []
    centre = 0.0
    for box in sorted(boxes, key=lambda b: b.cy):
        if out and abs(box.cy - centre) < 0.5 * h:
            out[-1].append(box)
            centre += (box.cy - centre) / len(out[-1])
        else:
            out.append([box])
            centre = box.cy
    for line in out:
        line.sort(key=lambda b: b.x0)
    return out
