"""The 数电票 layout (电子发票（增值税专用发票/普通发票）): fields from positioned text.

A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

from fapiao.parse.layout import Box, Fields


def extract(boxes: list[Box]) -> Fields | None:
    """The page's fields, or None when the page is not this layout."""
    return None
