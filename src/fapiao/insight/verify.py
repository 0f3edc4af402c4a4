"""查验 of invoices against the authority, through the connector's `verify`.

The inputs are what the real service asks for, by kind: the number (and 发票代码 for older invoices)
and the issue date, plus 价税合计 for a 数电票, the amount excluding tax for a 专票, the last six
digits of the 校验码 for an electronic or paper 普票. The service allows five checks a day per
invoice: attempts are counted per Asia/Shanghai day and an invoice at the limit is not sent again
that day. Requests are spaced to a rate limit; the authority's own 429 is waited out.

Each attempt is a `verifications` row and an `invoice.verified` event in the same transaction. When
the authority does not know the invoice, or its record differs, the invoice carries a finding
(`verify_not_found`, `verify_mismatch`) at once; a later match removes it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, func, select

from fapiao.authority import errors
from fapiao.authority.connector import Connector
from fapiao.findings import finding
from fapiao.insight.tables import verifications as vt
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger, detail_hash_now
from fapiao.model import Identity, Kind
from fapiao.money import format_fen

SHANGHAI = ZoneInfo("Asia/Shanghai")
RESULTS = ("match", "mismatch", "not_found", "limited", "error")
FINDING_CODES = ("verify_not_found", "verify_mismatch")
inv = schema.invoices


def shanghai_today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


@dataclass(frozen=True, slots=True)
class Inputs:
    """What one 查验 sends."""

    identity: Identity
    issue_date: dt.date
    amount: int | None = None  # 专票: 金额 (excl. tax)
    total: int | None = None  # 数电票: 价税合计
    check_code: str = ""  # 普票: last six of 校验码

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.identity.code,
            "number": self.identity.number,
            "issue_date": self.issue_date.isoformat(),
        }
        if self.amount is not None:
            out["amount"] = format_fen(self.amount)
        if self.total is not None:
            out["total"] = format_fen(self.total)
        if self.check_code:
            out["check_code"] = self.check_code
        return out


def inputs_for(
    kind: str, code: str, number: str, issue_date: dt.date, amount: int, total: int, check_code: str
) -> Inputs | None:
    """The inputs the service needs for this kind; None when the invoice lacks one (a 普票 without
    its 校验码)."""
    ident = Identity(code, number)
    try:
        k = Kind(kind)
    except ValueError:
        k = Kind.OTHER
    if k.is_digital:
        return Inputs(Identity("", number), issue_date, total=total)
    if k in (Kind.VAT_ELECTRONIC_NORMAL, Kind.VAT_NORMAL):
        digits = "".join(ch for ch in check_code if ch.isdigit())
        return Inputs(ident, issue_date, check_code=digits[-6:]) if len(digits) >= 6 else None
    return Inputs(ident, issue_date, amount=amount)


@dataclass(slots=True)
class Outcome:
    invoice_id: int
    key: str
    result: str  # match / mismatch / not_found / limited / error / skipped
    fields: list[str] = field(default_factory=list)
    reason: str = ""
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.invoice_id),
            "key": self.key,
            "result": self.result,
            "fields": self.fields,
            "reason": self.reason,
            "at": self.at,
        }


class RateLimit:
    """At most `per_second` calls; `wait()` sleeps until the next one may go."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0

    def wait(self) -> None:
        now = self.clock()
        if now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def attempts_on(engine: Engine, invoice_id: int, day: dt.date) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(vt)
                .where(vt.c.invoice_id == invoice_id, vt.c.day == day)
            )
            or 0
        )


def verify_invoices(
    ledger: Ledger,
    connector: Connector,
    invoice_ids: Iterable[int],
    *,
    daily_limit: int = 5,
    rate: RateLimit | None = None,
    today: Callable[[], dt.date] = shanghai_today,
    retries: int = 2,
) -> list[Outcome]:
    """查验 each invoice once (within the limits); every attempt recorded."""
    rate = rate or RateLimit(5.0)
    outcomes = []
    for invoice_id in invoice_ids:
        row = _load(ledger.engine, invoice_id)
        if row is None:
            outcomes.append(Outcome(invoice_id, "", "skipped", reason="no such invoice"))
            continue
        day = today()
        if attempts_on(ledger.engine, invoice_id, day) >= daily_limit:
            outcomes.append(
                Outcome(
                    invoice_id,
                    row.identity_key,
                    "skipped",
                    reason=f"daily limit: {daily_limit} 查验 a day per invoice",
                )
            )
            continue
        check_code = json.loads(row.doc).get("check_code", "") if row.doc else ""
        issue_date = (
            row.issue_date
            if isinstance(row.issue_date, dt.date)
            else dt.date.fromisoformat(str(row.issue_date))
        )
        ins = inputs_for(
            row.kind, row.code, row.number, issue_date, row.amount, row.total, check_code
        )
        if ins is None:
            outcomes.append(
                Outcome(
                    invoice_id,
                    row.identity_key,
                    "skipped",
                    reason="no 校验码: a 普票 is checked with the last six digits of its check code",
                )
            )
            continue
        result, fields, reason = _ask(connector, ins, rate, retries)
        outcomes.append(_record(ledger, row, day, ins, result, fields, reason))
    return outcomes


def _load(engine: Engine, invoice_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(
                inv.c.id,
                inv.c.tenant_id,
                inv.c.identity_key,
                inv.c.kind,
                inv.c.code,
                inv.c.number,
                inv.c.issue_date,
                inv.c.amount,
                inv.c.total,
                inv.c.doc,
            ).where(inv.c.id == invoice_id)
        ).first()


def _ask(
    connector: Connector, ins: Inputs, rate: RateLimit, retries: int
) -> tuple[str, list[str], str]:
    for attempt in range(retries + 1):
        rate.wait()
        try:
            res = connector.verify(
                ins.identity,
                ins.issue_date,
                amount=ins.amount,
                total=ins.total,
                check_code=ins.check_code,
            )
        except errors.RateLimited as exc:
            if "daily_limit" in exc.reason:
                return "limited", [], exc.reason
            if attempt < retries:
                rate.sleep(min(exc.retry_after, 5.0))
                continue
            return "error", [], exc.reason
        except errors.Transient as exc:
            if attempt < retries:
                continue
            return "error", [], exc.reason
        except errors.AuthorityError as exc:
            return "error", [], exc.reason
        result = res.result if res.result in ("match", "mismatch", "not_found") else "error"
        return result, list(res.fields), "" if result != "error" else f"answer {res.result!r}"
    return "error", [], "no answer"


def _record(
    ledger: Ledger,
    row: Any,
    day: dt.date,
    ins: Inputs,
    result: str,
    fields: list[str],
    reason: str,
) -> Outcome:
    f_t = schema.invoice_findings
    with ledger.write() as tx:
        (vid,) = tx.new_ids(1)
        at = tx.now
        tx.insert(
            vt,
            [
                {
                    "id": vid,
                    "invoice_id": row.id,
                    "tenant_id": row.tenant_id,
                    "identity_key": row.identity_key,
                    "day": day,
                    "checked_at": at,
                    "result": result,
                    "fields": json.dumps(fields),
                    "detail": json.dumps(
                        {"inputs": ins.to_json(), "reason": reason}, ensure_ascii=False
                    ),
                }
            ],
        )
        flagged = []
        if result in ("match", "mismatch", "not_found"):
            tx.conn.execute(
                delete(f_t).where(f_t.c.invoice_id == row.id, f_t.c.code.in_(FINDING_CODES))
            )
            if result == "not_found":
                flagged.append(finding("verify_not_found", "number", at=at[:19]))
            elif result == "mismatch":
                flagged.append(
                    finding(
                        "verify_mismatch", ",".join(fields), fields=", ".join(fields), at=at[:19]
                    )
                )
            tx.insert(
                f_t,
                [
                    {
                        "invoice_id": row.id,
                        "code": f.code,
                        "field": f.field,
                        "severity": f.severity.value,
                        "message": f.message,
                        "message_en": f.message_en,
                    }
                    for f in flagged
                ],
            )
        tx.event(
            "invoice.verified",
            "invoice",
            row.id,
            {
                "verification": vid,
                "result": result,
                "fields": fields,
                "inputs": ins.to_json(),
                "reason": reason,
                "findings": [f.to_json() for f in flagged],
                "detail_hash": detail_hash_now(tx.conn, row.id),
            },
            tenant_id=row.tenant_id,
        )
    return Outcome(row.id, row.identity_key, result, fields, reason, at)


def latest(engine: Engine, invoice_ids: list[int]) -> dict[int, dict[str, Any]]:
    """invoice id -> its last 查验 that got an answer (or the last attempt when none did), with
    today's attempt count."""
    out: dict[int, dict[str, Any]] = {}
    today = shanghai_today()
    with engine.connect() as conn:
        for start in range(0, len(invoice_ids), 500):
            chunk = invoice_ids[start : start + 500]
            rows = conn.execute(
                select(vt).where(vt.c.invoice_id.in_(chunk)).order_by(vt.c.invoice_id, vt.c.id)
            )
            for r in rows:
                cur = out.get(r.invoice_id)
                answered = r.result in ("match", "mismatch", "not_found")
                entry = {
                    "result": r.result,
                    "fields": json.loads(r.fields),
                    "at": r.checked_at,
                    "attempts_today": (cur or {}).get("attempts_today", 0),
                }
                if (
                    cur is None
                    or answered
                    or cur["result"] not in ("match", "mismatch", "not_found")
                ):
                    out[r.invoice_id] = entry
                if r.day == today or str(r.day) == today.isoformat():
                    out[r.invoice_id]["attempts_today"] += 1
    return out


def history(engine: Engine, invoice_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            {
                "result": r.result,
                "fields": json.loads(r.fields),
                "at": r.checked_at,
                "day": str(r.day),
                **json.loads(r.detail),
            }
            for r in conn.execute(select(vt).where(vt.c.invoice_id == invoice_id).order_by(vt.c.id))
        ]


def unverified(engine: Engine, invoice_ids: list[int]) -> list[int]:
    have = latest(engine, invoice_ids)
    return [
        i
        for i in invoice_ids
        if i not in have or have[i]["result"] not in ("match", "mismatch", "not_found")
    ]


def received_only(engine: Engine, invoice_ids: list[int]) -> list[int]:
    """The received (进项) invoices among the ids, in order: 查验 on receipt checks those."""
    out: set[int] = set()
    with engine.connect() as conn:
        for start in range(0, len(invoice_ids), 500):
            chunk = invoice_ids[start : start + 500]
            out.update(
                conn.scalars(
                    select(inv.c.id).where(inv.c.id.in_(chunk), inv.c.direction == "received")
                )
            )
    return [i for i in invoice_ids if i in out]


def verify_at(ledger: Ledger, url: str, invoice_ids: list[int]) -> list[Outcome]:
    """查验 the invoices at the authority at `url`, within the configured limits and rate."""
    from fapiao.authority.http import HttpConnector
    from fapiao.insight import settings

    with HttpConnector(url) as conn:
        return verify_invoices(
            ledger,
            conn,
            invoice_ids,
            daily_limit=int(settings.number(settings.VERIFY_DAILY_LIMIT)),
            rate=RateLimit(settings.number(settings.VERIFY_RATE)),
        )
