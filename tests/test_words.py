"""Words, times and amounts a person reads: the shared vocabulary, and the main pages in Chinese show
no raw code (normal, confirmed, digital_special, issued, 0.13, …) as visible text."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from fapiao import vocabulary
from tests.test_web_support import Site, sqlite_site

__all__ = ["sqlite_site"]

CODES = (
    {"normal", "red", "void", "issued", "received"}
    | set(vocabulary.AUTHORITY_STATES)
    | set(vocabulary.KINDS)
    | set(vocabulary.VERIFICATIONS)
    | set(vocabulary.ROLES)
    | {"open", "closed", "accepted", "rejected", "office", "override", "rule"}
)
RATE = re.compile(r"(?<![\d.,])0\.(?!00\b)\d{1,3}(?![\d%])")  # 0.13, not the amount 0.00


class _Text(HTMLParser):
    """The text a person sees: element text only (no attributes, no form field values, no script);
    a `<pre>` holds an original file shown as it is, so its text is the file's, not ours."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "title", "pre"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def raw_codes(text: str) -> set[str]:
    words = set(re.findall(r"[A-Za-z_]+", text))
    return (words & CODES) | set(RATE.findall(text))


def test_vocabulary_words_amounts_and_times() -> None:
    assert vocabulary.word("status", "void") == "作废"
    assert vocabulary.word("status", "void", "en") == "void"
    assert vocabulary.word("authority", "confirmed") == "平台已确认"
    assert vocabulary.word("kind", "digital_special").startswith("电子发票")
    assert vocabulary.word("direction", "received") == "进项"
    assert vocabulary.word("rate", "0.13") == "13%" and vocabulary.word("rate", "0.015") == "1.5%"
    assert vocabulary.word("rate", "exempt") == "免税"
    assert vocabulary.word("status", "unheard_of") == "unheard_of"  # unknown codes pass through
    assert vocabulary.fen(123456789) == "1,234,567.89" and vocabulary.fen(-5) == "-0.05"
    assert vocabulary.amount("1234567.80") == "1,234,567.80" and vocabulary.amount(100) == "1.00"
    # stored UTC, shown in Beijing time with the zone named; a date stays a date
    assert vocabulary.shown("2026-12-04T10:20:00+00:00") == "2026-12-04 18:20 北京时间"
    assert vocabulary.shown("2026-12-04T16:20:05Z", "en", seconds=True) == (
        "2026-12-05 00:20:05 CST (UTC+8)"
    )
    assert (
        vocabulary.shown(dt.datetime(2026, 1, 1, 0, 0)) == "2026-01-01 08:00 北京时间"
    )  # naive=UTC
    assert vocabulary.shown("2026-12-04") == "2026-12-04" and vocabulary.shown(None) == ""
    assert vocabulary.shown("not a time") == "not a time"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_main_pages_show_words_not_codes(sqlite_site: Site, lang: str) -> None:
    b = sqlite_site.browser()
    b.login("admin_a")
    if lang == "en":
        b.get("/lang/en?next=/")
    first = b.get("/api/v1/invoices", params={"limit": 1}).json()["items"][0]
    pages = [
        "/",
        "/invoices",
        f"/invoices/{first['id']}",
        "/reconcile",
        "/review",
        "/contingency",
        "/insight/stats",
    ]
    seen = {}
    for path in pages:
        r = b.get(path)
        assert r.status_code == 200, path
        seen[path] = visible(r.text)
    detail = seen[f"/invoices/{first['id']}"]
    if lang == "zh":
        for path, text in seen.items():
            assert not raw_codes(text), (path, raw_codes(text))
        assert "北京时间" in detail  # the audit history names its zone
        assert "进项" in seen["/invoices"] or "销项" in seen["/invoices"]
        assert "%" in detail  # the item rates as percentages
        assert re.search(r"\d{1,3}(,\d{3})+\.\d\d", seen["/invoices"] + detail)  # separators
    else:
        assert "CST (UTC+8)" in detail
        assert first["status"] in seen["/invoices"]  # the English words under the switch
    # the invoice's own layout: 价税合计 in words and figures, buyer and seller side by side
    assert "⊗" in detail and f"{vocabulary.amount(first['total'])}" in detail


def test_favicon_without_login(sqlite_site: Site) -> None:
    b = sqlite_site.browser()
    icon = b.get("/favicon.ico")  # no session: browsers ask before anyone logs in
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    login = b.get("/login").text
    assert 'rel="icon" href="/favicon.ico"' in login and "/static/favicon.svg" in login
    assert b.get("/static/favicon.svg").headers["content-type"].startswith("image/svg+xml")
