"""Positioned text -> fields: each printed layout has its own reader, tried in turn.

`older_layout` reads the 增值税电子普通/专用发票 and paper invoices (template layer + data layer,
12-digit 代码 + 8-digit 号码); `digital_layout` reads 数电票 (20-digit 号码, no 代码). Each returns None
when the page is not its layout; the generic label reader of `layout` takes what neither claims.
A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

from fapiao.parse import digital_layout, layout, older_layout
from fapiao.parse.layout import Box, Fields

READERS = (older_layout.extract, digital_layout.extract)


def extract(boxes: list[Box]) -> Fields:
    for reader in READERS:
        fields = reader(boxes)
        if fields is not None:
            return fields
    return layout.extract(boxes)
