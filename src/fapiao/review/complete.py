"""'Complete from 查验': with the fields a QR code gives (number, date, an amount, the check code),
a 查验 at the authority returns the whole record, and the fields the file did not give are
filled from it (source `authority`) for a person to confirm before accepting.

The inputs are the ones the real service asks for: the number (and 发票代码 for older invoices)
and the date, plus 价税合计 for a 数电票, the amount excluding tax for a 专票, the last six of the
校验码 for a 普票. Each attempt is a `review.verified` event, whatever the answer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fapiao.authority import errors
from fapiao.authority.connector import Connector
from fapiao.codec import parse_date
from fapiao.findings import Finding, finding
from fapiao.ledger.store import Ledger
from fapiao.model import Identity, Kind
from fapiao.money import MoneyError, parse_yuan
from fapiao.parse.reading import Reads, flatten
from fapiao.review.queue import Item


@dataclass(slots=True)
class Completion:
    """The authority's values: `filled` for fields the file lacked, `differs` where both have one."""

    result: str  # match / mismatch / not_found / error / incomplete
    filled: dict[str, str] = field(default_factory=dict)
    differs: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "filled": self.filled,
            "differs": self.differs,
            "findings": [f.to_json() for f in self.findings],
        }


def _value(reads: Reads, path: str) -> str:
    read = reads.get(path)
    return read.value.strip() if read is not None else ""


def _money(reads: Reads, path: str) -> int | None:
    with contextlib.suppress(MoneyError):
        return parse_yuan(_value(reads, path)) if _value(reads, path) else None
    return None


def inputs(reads: Reads) -> tuple[dict[str, Any] | None, list[str]]:
    """The 查验 inputs the readings give, or None with the names of what is missing."""
    number, code = _value(reads, "number"), _value(reads, "code")
    day = parse_date(_value(reads, "issue_date"))
    try:
        kind = Kind(_value(reads, "kind"))
    except ValueError:
        kind = Kind.DIGITAL_SPECIAL if len(number) == 20 and not code else Kind.OTHER
    missing = [p for p, v in (("number", number), ("issue_date", day)) if not v]
    args: dict[str, Any] = {"identity": Identity("" if kind.is_digital else code, number)}
    args["issue_date"] = day
    if kind.is_digital:
        args["total"] = _money(reads, "total")
        if args["total"] is None:
            missing.append("total")
    elif kind in (Kind.VAT_ELECTRONIC_NORMAL, Kind.VAT_NORMAL):
        digits = "".join(ch for ch in _value(reads, "check_code") if ch.isdigit())
        args["check_code"] = digits[-6:]
        if len(digits) < 6:
            missing.append("check_code")
    else:
        args["amount"] = _money(reads, "amount")
        if args["amount"] is None:
            missing.append("amount")
    if not kind.is_digital and not code:
        missing.append("code")
    return (None, missing) if missing else (args, [])


def from_verify(ledger: Ledger, connector: Connector, item: Item) -> Completion:
    reads = item.current()
    args, missing = inputs(reads)
    if args is None:
        return Completion(
            "incomplete",
            findings=[finding("verify_incomplete", ",".join(missing), fields=", ".join(missing))],
        )
    try:
        res = connector.verify(**args)
    except errors.AuthorityError as exc:
        done = Completion("error", findings=[finding("verify_failed", detail=exc.reason)])
    else:
        done = _completion(reads, res.result, res.invoice)
    _record(ledger, item, args, done)
    return done


def _completion(reads: Reads, result: str, whole: dict[str, Any] | None) -> Completion:
    if result != "match" or whole is None:
        detail = {"not_found": "查无此票 / not found", "mismatch": "查验不符 / inputs differ"}
        return Completion(
            result if result in ("mismatch", "not_found") else "error",
            findings=[finding("verify_failed", detail=detail.get(result, result))],
        )
    done = Completion("match")
    for path, read in flatten(whole, "authority").items():
        if path in ("status", "original.code") and read.value in ("normal", ""):
            continue
        have = _value(reads, path)
        if not have:
            done.filled[path] = read.value
        elif have != read.value:
            done.differs[path] = read.value
    return done


def _record(ledger: Ledger, item: Item, args: dict[str, Any], done: Completion) -> None:
    sent = {
        "number": args["identity"].number,
        "code": args["identity"].code,
        "issue_date": args["issue_date"].isoformat()
        if isinstance(args["issue_date"], dt.date)
        else "",
    }
    with ledger.write() as tx:
        tx.event(
            "review.verified",
            "quarantine",
            item.id,
            {"inputs": sent, **done.to_json()},
        )
