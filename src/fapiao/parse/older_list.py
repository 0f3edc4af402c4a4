"""The 销货清单 (销售货物或者提供应税劳务、服务清单) of an older invoice: the pages after the invoice
whose single item line reads `（详见销货清单）`, listing the real items.

The list's table has the invoice's columns after a 序号 column and ends at its 小计 / 总计 rows;
its rows are read like the invoice's own (`older_items`).
A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

from fapiao.parse import older_items
from fapiao.parse.layout import Box
from fapiao.parse.older_geometry import median_height, prepare

_ENDS = ("小计", "总计", "合计")


def refers_to_list(items: list[dict[str, str]]) -> bool:
    """The invoice's items are one line pointing at the list (`（详见销货清单）`, `详见清单`)."""
    return len(items) == 1 and "清单" in "".join(items[0].get("name", "").split())


def items(boxes: list[Box]) -> list[dict[str, str]] | None:
    """The items of a list page, or None when the page is not a 销货清单."""
    page = prepare(boxes)
    if not any("清单" in b.key for b in page):
        return None
    h = median_height(page)
    ends = [b.y0 for b in page if b.key.startswith(_ENDS)]
    bottom = min(ends) if ends else max(b.y1 for b in page) + h
    table = older_items.header(page, h, -1e9, bottom)
    if table is None:
        return None
    return older_items.rows(page, table, h, bottom) or None
