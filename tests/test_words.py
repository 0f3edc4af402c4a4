"""Words, times and amounts a person reads: the shared vocabulary, and the main pages in Chinese show
no raw code (normal, confirmed, digital_special, issued, 0.13, …) as visible text."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

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


class _Phrases(HTMLParser):
    """What a person sees or a screen reader says: element text and the labels (aria-label,
    title, placeholder) a page gives; not scripts, not an original shown as it is (`<pre>`)."""

    LABELS = ("aria-label", "title", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "pre"):
            self._skip += 1
        self.found += [value for name, value in attrs if name in self.LABELS and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.found.append(data.strip())


CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}")  # two words: not a code, a unit or a name


def test_every_page_in_chinese_says_nothing_in_english_alone(sqlite_site: Site) -> None:
    """A colleague who reads only Chinese: on every page the menu reaches, each text and label
    in English has its Chinese beside it (chart titles were English alone)."""
    b = sqlite_site.browser()
    b.login("admin_a")
    home = b.get("/").text
    pages = sorted(
        {p for p in re.findall(r'href="(/[^"#?]*)"', home)}
        - {"/logout", "/favicon.ico"}
        - {p for p in re.findall(r'href="(/[^"#?]*)"', home) if p.startswith("/static")}
    )
    assert len(pages) >= 15, pages
    english_alone = {}
    for path in pages:
        r = b.get(path)
        assert r.status_code == 200, path
        parser = _Phrases()
        parser.feed(r.text)
        alone = [p for p in parser.found if ENGLISH.search(p) and not CJK.search(p)]
        if alone:
            english_alone[path] = alone
    assert english_alone == {}


def test_the_audit_page_names_each_event_in_words_beside_its_code(sqlite_site: Site) -> None:
    """The audit chain's events read as words (登录, 导入发票) with the code kept beside for the
    auditor; every event the site's ledger holds has its word, and times carry their zone."""
    b = sqlite_site.browser()
    b.login("admin_a")
    with sqlite_site.ledger.engine.connect() as conn:
        actions = set(conn.exec_driver_sql("SELECT DISTINCT action FROM events").scalars())
    assert "invoice.imported" in actions and "user.login" in actions
    assert actions <= set(vocabulary.EVENTS), actions - set(vocabulary.EVENTS)
    shown = visible(b.get("/audit").text)
    assert re.search(r"登录\s+user\.login", shown) and re.search(r"添加企业\s+tenant\.added", shown)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", shown)  # no raw UTC stamp


def test_every_event_the_code_writes_has_its_words() -> None:
    """Each event code written as a literal in the source (`tx.event("invoice.imported", …)`)
    has its words, so the audit page never falls back to the bare code for it."""
    root = Path(__file__).resolve().parent.parent / "src" / "fapiao"
    written = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'event(?:_text)?\(\s*"([a-z_]+\.[a-z_]+)"', text))
        written |= set(re.findall(r'_event\(\s*\w+,\s*"([a-z_]+\.[a-z_]+)"', text))
    assert len(written) > 50  # the pattern still finds them
    assert written - set(vocabulary.EVENTS) == set()
