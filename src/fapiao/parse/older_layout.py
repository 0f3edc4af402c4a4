"""The older invoice layout (增值税电子普通/专用发票, paper 增值税发票): fields from positioned text.

A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

from fapiao.parse.layout import Box, Fields


def extract(boxes: list[Box]) -> Fields | None:
    """The page's fields, or None when the page is not this layout."""
    return None
