"""数电 tickets: 电子发票（铁路电子客票） and 电子发票（航空运输电子客票行程单）.

A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

from fapiao.parse.layout import Fields, Page


def extract(page: Page) -> Fields | None:
    return None
