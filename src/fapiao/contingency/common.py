"""What the contingency modules share: the error they raise for a refused request, times, tenants.

    ContingencyError(Refusal)  a request that cannot be carried out as asked (unknown id, a state
                               that does not allow the step); its finding's `zh` and `en` say why.

Problems in a user's data (a CSV row, an invoice that does not validate) are findings, not errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from fapiao.findings import Refusal
from fapiao.ledger import schema
from fapiao.vocabulary import shown

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ContingencyError(Refusal, ValueError):
    """A contingency request refused; `usage` and `not_found` are the caller's to correct (exit 2)."""

    def __init__(self, zh: str, en: str, *, code: str = "refused") -> None:
        super().__init__(Refusal.said(code, zh, en), usage=code in ("usage", "not_found"))


def iso_utc(t: dt.datetime | float) -> str:
    """A moment as the ledger writes it: UTC, ISO 8601 with microseconds."""
    if isinstance(t, int | float):
        t = dt.datetime.fromtimestamp(t, dt.UTC)
    if t.tzinfo is None:
        t = t.replace(tzinfo=SHANGHAI)
    return t.astimezone(dt.UTC).isoformat(timespec="microseconds")


def utc_now_text() -> str:
    return iso_utc(dt.datetime.now(dt.UTC))


def parse_moment(text: str) -> str:
    """`2024-11-20T10:00`, `2024-11-20 10:00:00+08:00` or `2024-11-20` (local midnight) -> UTC ISO;
    a time without a zone is Asia/Shanghai."""
    raw = text.strip().replace(" ", "T", 1)
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ContingencyError(
            f"时间格式无效：{text!r}（例：2024-11-20T10:00）",
            f"bad time {text!r} (e.g. 2024-11-20T10:00)",
            code="usage",
        ) from exc
    return iso_utc(value)


def local_text(iso: str) -> str:
    """UTC ISO -> `2024-11-20 18:00:05 北京时间`, for people and letters (the zone named)."""
    return shown(iso, seconds=True)


def day_start(day: dt.date) -> str:
    return iso_utc(dt.datetime.combine(day, dt.time(), SHANGHAI))


def tenant_rows(engine: Engine) -> list[dict[str, Any]]:
    t = schema.tenants
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.id))]


def resolve_tenant(engine: Engine, ref: str | int | None) -> dict[str, Any]:
    """A tenant by id or tax ID; with no reference, the only tenant there is."""
    rows = tenant_rows(engine)
    if ref is None or ref == "":
        if len(rows) == 1:
            return rows[0]
        raise ContingencyError(
            "请用 --tenant 指定企业", "choose a tenant with --tenant", code="usage"
        )
    text = str(ref).strip().upper()
    for r in rows:
        if text in (str(r["id"]), r["tax_id"]):
            return r
    raise ContingencyError(f"找不到企业：{ref}", f"no such tenant: {ref}", code="not_found")
