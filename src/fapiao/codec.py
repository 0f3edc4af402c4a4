"""The canonical JSON form of an invoice (DESIGN.md) to and from the model.

`invoice_to_json` is the one serialisation used by the CLI, the ledger and the audit log;
`invoice_from_json` reads untrusted JSON and returns findings instead of raising.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson

from fapiao.findings import Finding, finding
from fapiao.model import RATE_MARKERS, Identity, Invoice, Kind, LineItem, Party, Status
from fapiao.money import MoneyError, format_fen, parse_yuan, plain_fen


def invoice_to_json(inv: Invoice) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": inv.kind.value,
        "code": inv.code,
        "number": inv.number,
        "issue_date": inv.issue_date.isoformat(),
        "seller": {"name": inv.seller.name, "tax_id": inv.seller.tax_id},
        "buyer": {"name": inv.buyer.name, "tax_id": inv.buyer.tax_id},
        "amount": format_fen(inv.amount),
        "tax": format_fen(inv.tax),
        "total": format_fen(inv.total),
        "check_code": inv.check_code,
        "status": inv.status.value,
        "original": (
            {"code": inv.original.code, "number": inv.original.number} if inv.original else None
        ),
        "items": [_item_to_json(item) for item in inv.items],
        "remarks": inv.remarks,
        "issuer": inv.issuer,
    }
    if inv.total_words:
        data["total_words"] = inv.total_words
    return data


def _item_to_json(item: LineItem) -> dict[str, str]:
    return {
        "name": item.name,
        "spec": item.spec,
        "unit": item.unit,
        "quantity": item.quantity,
        "unit_price": item.unit_price,
        "amount": format_fen(item.amount),
        "tax_rate": item.tax_rate,
        "tax": format_fen(item.tax),
    }


def canonical_bytes(data: Any) -> bytes:
    """Stable bytes for hashing: sorted keys, no spaces, UTF-8 (byte for byte what
    json.dumps(ensure_ascii=False, sort_keys=True, separators=(",", ":")) writes, several times faster)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def canonical_text_with(payload: dict[str, Any], embedded: dict[str, str]) -> str:
    """canonical_bytes(payload | embedded) as text, where `embedded` values are already canonical
    JSON texts: lets the hot import path serialise each invoice once instead of twice."""
    # The payload's keys on either side of each embedded key are encoded together (orjson, in C),
    # and the members joined: the import's event payload ("detail_hash" < "doc" < "file" …) costs
    # two encodings, not one per key.
    parts: list[str] = []
    rest = {k: v for k, v in payload.items() if k not in embedded}
    for key in sorted(embedded):
        before = {k: v for k, v in rest.items() if k < key}
        if before:
            parts.append(canonical_bytes(before).decode()[1:-1])
            rest = {k: v for k, v in rest.items() if k > key}
        parts.append(canonical_bytes(key).decode() + ":" + embedded[key])
    if rest:
        parts.append(canonical_bytes(rest).decode()[1:-1])
    return "{" + ",".join(parts) + "}"


def content_hash(inv: Invoice) -> str:
    """SHA-256 of the canonical JSON: same identity + same hash = duplicate, else conflict."""
    return hashlib.sha256(canonical_bytes(invoice_to_json(inv))).hexdigest()


class _Reader:
    """Collects findings while reading fields, so one bad field does not hide the others."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.findings: list[Finding] = []

    def text(self, key: str, source: dict[str, Any] | None = None, *, prefix: str = "") -> str:
        value = (self.data if source is None else source).get(key, "")
        if type(value) is str:  # nearly every field: one test, not three
            return value.strip()
        if value is None:
            return ""
        if not isinstance(value, str | int):
            self.findings.append(_invalid(prefix + key, "不是文本", "not text"))
            return ""
        return str(value).strip()

    def money(self, key: str, source: dict[str, Any] | None = None, *, prefix: str = "") -> int:
        src = self.data if source is None else source
        if key not in src or src[key] in (None, ""):
            self.findings.append(finding("field_missing", prefix + key))
            return 0
        try:
            return parse_yuan(src[key])
        except MoneyError as exc:
            self.findings.append(_invalid(prefix + key, exc.zh, str(exc)))
            return 0


def _invalid(field: str, detail: str, detail_en: str) -> Finding:
    return finding("field_invalid", field, detail=detail, detail_en=detail_en)


_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


def parse_date(text: str) -> dt.date | None:
    """'2024-11-20', '20241120', '2024-11-20 10:00:00', '2024年11月20日' -> date, else None."""
    if len(text) == 10 and text[4] == text[7] == "-":  # '2024-11-20', as most sources write it
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # not a date, or digits fromisoformat does not take: read as any other text
    return _any_date(text)


def _any_date(text: str) -> dt.date | None:
    cleaned = text.strip().replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-")
    match = _DATE.match(cleaned)
    if not match:
        parts = cleaned.split(" ")[0].split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            return None
        match_parts = parts
    else:
        match_parts = list(match.groups())
    try:
        return dt.date(int(match_parts[0]), int(match_parts[1]), int(match_parts[2]))
    except ValueError:
        return None


def normalise_rate(value: Any) -> str | None:
    """'13%', '0.13', 0.13 as text, '免税', '*', '***' -> canonical rate string; None when unreadable."""
    return _normalised(str(value).strip())


@lru_cache(maxsize=256)  # a few rates, written a few ways, on every line of every invoice
def _normalised(text: str) -> str | None:
    markers = {"免税": "exempt", "不征税": "nontaxable", "*": "nontaxable", "***": "margin"}
    if text in RATE_MARKERS:
        return text
    if text in markers:
        return markers[text]
    try:
        rate = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        return None
    if not rate.is_finite():
        return None
    normal = rate.normalize()
    return "0" if normal == 0 else format(normal, "f")


def invoice_from_json(data: Any) -> tuple[Invoice | None, list[Finding]]:
    """Canonical JSON -> Invoice. Returns findings (and no invoice) when a field cannot be read."""
    if not isinstance(data, dict):
        detail, detail_en = "发票必须是 JSON 对象", "an invoice must be a JSON object"
        return None, [finding("unreadable", detail=detail, detail_en=detail_en)]
    plain = plain_invoice(data)
    if plain is not None:
        return plain, []
    return _read_invoice(data)


def _read_invoice(data: dict[str, Any]) -> tuple[Invoice | None, list[Finding]]:
    """Any invoice object, field by field, every field's findings collected."""
    r = _Reader(data)
    try:
        kind = Kind(r.text("kind") or "other")
    except ValueError:
        r.findings.append(finding("field_invalid", "kind", detail=repr(data.get("kind"))))
        kind = Kind.OTHER
    try:
        status = Status(r.text("status") or "normal")
    except ValueError:
        r.findings.append(finding("field_invalid", "status", detail=repr(data.get("status"))))
        status = Status.NORMAL
    issue_date = parse_date(r.text("issue_date"))
    if issue_date is None and data.get("issue_date") in (None, ""):
        r.findings.append(finding("field_missing", "issue_date"))  # not "invalid: None"
    elif issue_date is None:
        r.findings.append(
            finding("date_invalid", "issue_date", detail=repr(data.get("issue_date")))
        )
    parties = [_party(r, key) for key in ("seller", "buyer")]
    items = _items(r, data.get("items") or [])
    original = _original(r, data.get("original"))
    inv = Invoice(
        kind=kind,
        code=r.text("code"),
        number=r.text("number"),
        issue_date=issue_date or dt.date(1970, 1, 1),
        seller=parties[0],
        buyer=parties[1],
        amount=r.money("amount"),
        tax=r.money("tax"),
        total=r.money("total"),
        check_code=r.text("check_code"),
        status=status,
        original=original,
        items=items,
        remarks=r.text("remarks"),
        issuer=r.text("issuer"),
        total_words=r.text("total_words"),
    )
    if r.findings:
        return None, r.findings
    return inv, []


_KINDS = {kind.value: kind for kind in Kind}
_STATUSES = {status.value: status for status in Status}
_ITEM_TEXT = itemgetter("name", "spec", "unit", "quantity", "unit_price", "tax_rate")
_ITEM_MONEY = itemgetter("amount", "tax")
_TOP_MONEY = itemgetter("amount", "tax", "total")
_TOP_TEXT = (
    "code", "number", "check_code", "remarks", "issuer", "total_words", "kind", "status", "issue_date"
)  # fmt: skip


def plain_invoice(data: dict[str, Any]) -> Invoice | None:
    """The invoice of an object in the plain form the canonical JSON writes: every text a string,
    every amount "113.00", the date "YYYY-MM-DD", kind, status and rates known, no `original`.
    Read without the per-field checks, none of which could find anything in it (a JSON file's
    parse spent a third of its time in them); None for any other object, which `_read_invoice`
    reads and explains. The two give the same invoice (tests/test_codec_plain)."""
    get = data.get
    try:
        code, number, check_code, remarks, issuer, words, kind_text, status_text, issued = (
            get(key, "").strip() for key in _TOP_TEXT
        )
        amount, tax, total = (plain_fen(v) for v in _TOP_MONEY(data))
    except (AttributeError, KeyError, TypeError):  # a field that is not text, an amount missing
        return None
    if get("original") is not None:
        return None
    kind, status = _KINDS.get(kind_text or "other"), _STATUSES.get(status_text or "normal")
    date = parse_date(issued)  # the reader's own: the two cannot disagree on a date
    seller, buyer = _plain_party(get("seller")), _plain_party(get("buyer"))
    items = _plain_items(get("items"))
    if (
        kind is None or status is None or date is None or seller is None or buyer is None
        or items is None or amount is None or tax is None or total is None
    ):  # fmt: skip
        return None
    return Invoice(
        kind=kind,
        code=code,
        number=number,
        issue_date=date,
        seller=seller,
        buyer=buyer,
        amount=amount,
        tax=tax,
        total=total,
        check_code=check_code,
        status=status,
        items=items,
        remarks=remarks,
        issuer=issuer,
        total_words=words,
    )


def _plain_party(value: Any) -> Party | None:
    if type(value) is not dict:
        return None
    name, tax_id = value.get("name", ""), value.get("tax_id", "")
    if type(name) is not str or type(tax_id) is not str:
        return None
    return Party(name.strip(), tax_id.strip().upper())


def _plain_items(raw: Any) -> tuple[LineItem, ...] | None:
    if raw is None:
        return ()
    if type(raw) is not list:
        return None
    items = []
    for row in raw:
        try:
            name, spec, unit, quantity, price, rate = (v.strip() for v in _ITEM_TEXT(row))
            amount, tax = (plain_fen(v) for v in _ITEM_MONEY(row))
        except (KeyError, TypeError, AttributeError):  # a field missing or not text, not a dict
            return None
        rate = _normalised(rate)
        if rate is None or amount is None or tax is None:
            return None
        items.append(LineItem(name, amount, rate, tax, spec, unit, quantity, price))
    return tuple(items)


def _party(r: _Reader, key: str) -> Party:
    value = r.data.get(key)
    if not isinstance(value, dict):
        r.findings.append(finding("field_missing", key))
        return Party(name="")
    return Party(
        name=r.text("name", value, prefix=f"{key}."),
        tax_id=r.text("tax_id", value, prefix=f"{key}.").upper(),
    )


def _items(r: _Reader, raw: Any) -> tuple[LineItem, ...]:
    if not isinstance(raw, list):
        r.findings.append(_invalid("items", "不是列表", "not a list"))
        return ()
    items = []
    for index, row in enumerate(raw, start=1):
        prefix = f"items[{index}]."
        if not isinstance(row, dict):
            r.findings.append(_invalid(prefix[:-1], "不是对象", "not an object"))
            continue
        rate = normalise_rate(row.get("tax_rate", ""))
        if rate is None:
            r.findings.append(
                finding(
                    "tax_rate_invalid", prefix + "tax_rate", line=index, value=row.get("tax_rate")
                )
            )
            rate = str(row.get("tax_rate"))
        items.append(
            LineItem(
                name=r.text("name", row, prefix=prefix),
                spec=r.text("spec", row, prefix=prefix),
                unit=r.text("unit", row, prefix=prefix),
                quantity=r.text("quantity", row, prefix=prefix),
                unit_price=r.text("unit_price", row, prefix=prefix),
                amount=r.money("amount", row, prefix=prefix),
                tax_rate=rate,
                tax=r.money("tax", row, prefix=prefix),
            )
        )
    return tuple(items)


def _original(r: _Reader, raw: Any) -> Identity | None:
    if raw in (None, "", {}):
        return None
    if isinstance(raw, str):
        return Identity.from_key(raw.strip())
    if isinstance(raw, dict):
        return Identity(
            code=str(raw.get("code") or "").strip(), number=str(raw.get("number") or "").strip()
        )
    r.findings.append(_invalid("original", "不是发票标识（代码与号码）", "not an identity"))
    return None
