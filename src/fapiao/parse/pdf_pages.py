"""Which pages of a PDF make one invoice, and what text layer can be trusted.

An invoice whose items do not fit on one page goes on over further pages, each repeating the
header (same 发票号码), the totals printed on the last; an older invoice may come with a 销货清单
(销售货物或者提供应税劳务、服务清单) carrying the items its first page calls (详见销货清单). Either way the
pages are ONE invoice: `group` joins them, `merge` makes one set of fields. Pages with other
numbers are other invoices.

A text layer is only as good as its fonts' Unicode maps: without one, pdfium gives private-use
code points, U+FFFD or glyph numbers as Latin letters, and none of the printed labels. Such a page
is read as a picture (`usable` says which). A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from fapiao.parse.layout import Box, Fields

# words every invoice page prints; a text layer with none of them did not decode its fonts
LABELS = ("发票", "合计", "金额", "税额", "名称", "开票", "号码", "价税", "清单")
MIN_TEXT_CHARS = 20
# the share of characters that did not decode beyond which the page is read from its picture: a
# stray symbol glyph stays below it, party names or item names in an unmapped font do not
GARBAGE = 0.04
_RADICAL = re.compile("[\u2e80-\u2fdf\uf900-\ufaff]")
# replacement character, private use, control characters (category Cc)
_GARBAGE = re.compile("[\ufffd\ue000-\uf8ff\x00-\x1f\x7f-\x9f]")


def normalise(text: str) -> str:
    """Kangxi radicals (⼦ U+2F26), CJK radical supplements and compatibility ideographs, which
    some PDF producers map their glyphs to, as the ordinary ideographs they look like. Other
    characters (full-width brackets in names) stay as printed."""
    if not _RADICAL.search(text):
        return text
    return _RADICAL.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)


def _garbage(text: str) -> int:
    return len(_GARBAGE.findall(text))


def usable(boxes: list[Box]) -> bool:
    """Whether a text layer says what the page shows (else: render the page and read it)."""
    text = "".join(b.key for b in boxes)
    if len(text) < MIN_TEXT_CHARS or _garbage(text) > GARBAGE * len(text):
        return False
    return any(label in text for label in LABELS)


def worth_a_picture(boxes: list[Box]) -> bool:
    """A page whose text gave no invoice, but which prints an invoice's labels: its values are
    likely in a font without a Unicode map."""
    text = "".join(b.key for b in boxes)
    return any(label in text for label in ("发票号码", "价税合计", "开票日期"))


def list_title(boxes: list[Box]) -> str:
    """The title of a 销货清单 page (销售货物或者提供应税劳务、服务清单), or ''."""
    for box in boxes:
        if "清单" in box.key and ("销售货物" in box.key or "应税劳务" in box.key):
            return box.text
    return ""


@dataclass(slots=True)
class Group:
    """Consecutive pages of one invoice."""

    first: int  # 0-based index of its first page
    pages: list[Fields] = field(default_factory=list)


def _continues(prev: Fields, page: Fields) -> bool:
    if page.items and page.items == prev.items:
        return False  # the same page twice (a copy printed into one file), not a continuation
    if page.number and prev.number:
        return page.number == prev.number and (page.code or "") == (prev.code or "")
    if "清单" in page.title:
        return True
    # a page of items only: no identity, no parties of its own
    return not page.number and not page.buyer.name and not page.seller.name and bool(page.items)


def group(pages: list[tuple[int, Fields]]) -> list[Group]:
    groups: list[Group] = []
    for index, fields in pages:
        if groups and _continues(groups[-1].pages[-1], fields):
            groups[-1].pages.append(fields)
        else:
            groups.append(Group(index, [fields]))
    return groups


def merge(pages: list[Fields]) -> Fields:
    """One invoice's fields from its pages: the header of the first, the items of all, the totals
    of the last page that prints them."""
    out = pages[0]
    if len(pages) == 1:
        return out
    out.confidence = dict(out.confidence)
    items = [row for row in out.items if not _see_list(row)]
    for page in pages[1:]:
        items += [row for row in page.items if not _subtotal(row)]
        out.number = out.number or page.number
        out.date = out.date or page.date
        out.title = out.title or page.title
        for role in ("buyer", "seller"):
            if not getattr(out, role).name:
                setattr(out, role, getattr(page, role))
    out.items = items
    with_total = [p for p in pages if p.total] or [p for p in pages if p.amount]
    if with_total:
        last = with_total[-1]
        out.amount, out.tax, out.total = last.amount, last.tax, last.total
        out.words = last.words or out.words
    out.remarks = next((p.remarks for p in pages if p.remarks), "")
    out.issuer = next((p.issuer for p in pages if p.issuer), "")
    return out


def _subtotal(row: dict[str, str]) -> bool:
    """A list's 小计/总计 line, read as a row by a reader that does not stop at it."""
    return "".join(row.get("name", "").split()).startswith(("小计", "总计", "合计"))


def _see_list(row: dict[str, str]) -> bool:
    """The first page's stand-in line for the items on the 销货清单."""
    return "清单" in row.get("name", "")
