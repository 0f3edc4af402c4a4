"""AuthorityRecord <-> the JSON the sandbox protocol speaks, and the comparison used by read-back.

A record's JSON is the canonical invoice's header fields (DESIGN.md) plus the platform's own words:
`platform_status`, `source`, `risk`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fapiao.codec import parse_date
from fapiao.model import AuthorityRecord, Identity, Invoice, Kind, Party, Status
from fapiao.money import MoneyError, format_fen, parse_yuan

PLATFORM_STATUS = {Status.NORMAL: "正常", Status.RED: "已红冲-全额", Status.VOID: "已作废"}


def record_from_invoice(inv: Invoice, *, source: str = "") -> AuthorityRecord:
    return AuthorityRecord(
        code=inv.code,
        number=inv.number,
        kind=inv.kind,
        issue_date=inv.issue_date,
        seller=inv.seller,
        buyer=inv.buyer,
        amount=inv.amount,
        tax=inv.tax,
        total=inv.total,
        status=inv.status,
        platform_status=PLATFORM_STATUS.get(inv.status, ""),
        original=inv.original,
        source=source,
        issuer=inv.issuer,
        remarks=inv.remarks,
    )


def record_to_json(rec: AuthorityRecord) -> dict[str, Any]:
    """The record as the platform's API gives it; `deduction` only where the list states the
    invoice's 勾选 (a received blue invoice, as the taxpayer who received it sees it)."""
    out = _record_json(rec)
    if rec.deduct_state:
        out["deduction"] = {
            "state": rec.deduct_state,
            "purpose": rec.deduct_purpose,
            "period": rec.deduct_period,
        }
    return out


_DEDUCT_STATES = ("selected", "unselected")
_DEDUCT_PURPOSES = ("", "deduct", "no_deduct")


def _deduction(data: Any) -> tuple[str, str, str]:
    """A record's `deduction` (state, purpose, period), or three empty strings when it says none."""
    if data is None:
        return "", "", ""
    if not isinstance(data, dict):
        raise RecordError("deduction must be an object")
    state, purpose = str(data.get("state") or ""), str(data.get("purpose") or "")
    period = str(data.get("period") or "")
    if state not in _DEDUCT_STATES or purpose not in _DEDUCT_PURPOSES:
        raise RecordError(f"bad deduction {data!r}")
    if period and (len(period) != 7 or period[4] != "-" or not period.replace("-", "").isdigit()):
        raise RecordError(f"bad deduction period {period!r}")
    if state == "unselected":
        return state, "", ""
    return state, purpose, period


def _record_json(rec: AuthorityRecord) -> dict[str, Any]:
    return {
        "kind": rec.kind.value,
        "code": rec.code,
        "number": rec.number,
        "issue_date": rec.issue_date.isoformat(),
        "seller": {"name": rec.seller.name, "tax_id": rec.seller.tax_id},
        "buyer": {"name": rec.buyer.name, "tax_id": rec.buyer.tax_id},
        "amount": format_fen(rec.amount),
        "tax": format_fen(rec.tax),
        "total": format_fen(rec.total),
        "status": rec.status.value,
        "platform_status": rec.platform_status,
        "original": {"code": rec.original.code, "number": rec.original.number}
        if rec.original
        else None,
        "source": rec.source,
        "risk": rec.risk,
        "issuer": rec.issuer,
        "remarks": rec.remarks,
    }


class RecordError(ValueError):
    """The authority answered with a record this client cannot read."""


def record_from_json(data: Any) -> AuthorityRecord:
    if not isinstance(data, dict):
        raise RecordError("a record must be an object")
    try:
        issue_date = parse_date(str(data.get("issue_date", "")))
        if issue_date is None:
            raise RecordError(f"bad issue_date {data.get('issue_date')!r}")
        original = data.get("original")
        seller, buyer = data.get("seller") or {}, data.get("buyer") or {}
        state, purpose, period = _deduction(data.get("deduction"))
        return AuthorityRecord(
            code=str(data.get("code") or ""),
            number=str(data.get("number") or ""),
            kind=Kind(data.get("kind") or "other"),
            issue_date=issue_date,
            seller=Party(str(seller.get("name", "")), str(seller.get("tax_id", ""))),
            buyer=Party(str(buyer.get("name", "")), str(buyer.get("tax_id", ""))),
            amount=parse_yuan(data.get("amount", "0")),
            tax=parse_yuan(data.get("tax", "0")),
            total=parse_yuan(data.get("total", "0")),
            status=Status(data.get("status") or "normal"),
            platform_status=str(data.get("platform_status") or ""),
            original=Identity(str(original.get("code", "")), str(original.get("number", "")))
            if isinstance(original, dict)
            else None,
            source=str(data.get("source") or ""),
            risk=str(data.get("risk") or ""),
            issuer=str(data.get("issuer") or ""),
            remarks=str(data.get("remarks") or ""),
            deduct_state=state,
            deduct_purpose=purpose,
            deduct_period=period,
        )
    except (ValueError, MoneyError, AttributeError, TypeError) as exc:
        raise RecordError(str(exc)) from exc


COMPARED = ("kind", "issue_date", "seller", "buyer", "amount", "tax", "total", "status")


def differences(doc: dict[str, Any], rec: AuthorityRecord) -> dict[str, dict[str, Any]]:
    """Fields where the ledger's canonical JSON and the authority's record disagree."""
    theirs = record_to_json(rec)
    out: dict[str, dict[str, Any]] = {}
    for name in COMPARED:
        mine, other = doc.get(name), theirs.get(name)
        if name in ("seller", "buyer"):
            mine = (mine or {}).get("tax_id", "")
            other = (other or {}).get("tax_id", "")
        if mine != other:
            out[name] = {"ledger": mine, "authority": other}
    return out


def period_range(period: str) -> tuple[dt.date, dt.date]:
    """'2024-11' -> first and last day; '2024' -> the year."""
    parts = period.split("-")
    year = int(parts[0])
    if len(parts) == 1:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(parts[1])
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end
