"""Official notices on the status page: an admin posts what the tax bureau (or anyone in charge)
announced, with the dates it covers and the scope it affects; a notice is withdrawn, never deleted.
Each post and withdrawal is an event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select, update

from fapiao.ledger.store import Ledger
from fapiao.ops.tables import notices
from fapiao.ops.tickets import TicketError as NoticeError


def _date(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise NoticeError(
            "bad_date",
            f"{what}无效：{value!r}（应为 YYYY-MM-DD）",
            f"invalid date {value!r} (YYYY-MM-DD)",
        ) from exc


def post_notice(
    ledger: Ledger,
    *,
    title: str,
    body: str = "",
    issuer: str = "",
    scope: str = "",
    starts_on: str = "",
    ends_on: str = "",
) -> int:
    title = title.strip()
    if not title or len(title) > 200:
        raise NoticeError("bad_title", "标题为必填（最多 200 字）", "a title is required (max 200)")
    start = _date(starts_on, "开始日期") or dt.date.today().isoformat()
    end = _date(ends_on, "结束日期")
    if end and end < start:
        raise NoticeError(
            "bad_dates", "结束日期早于开始日期", "the end date is before the start date"
        )
    with ledger.write() as tx:
        (nid,) = tx.new_ids(1)
        row = {
            "id": nid,
            "title": title,
            "body": body.strip()[:10000],
            "issuer": issuer.strip()[:200],
            "scope": scope.strip()[:400],
            "starts_on": start,
            "ends_on": end,
            "state": "posted",
            "author": tx.actor[:100],
            "created_at": tx.now,
            "updated_at": tx.now,
        }
        tx.insert(notices, [row])
        tx.event("notice.posted", "notice", nid, row)
    return nid


def withdraw_notice(ledger: Ledger, notice_id: int) -> None:
    with ledger.write() as tx:
        found = tx.conn.scalar(select(notices.c.state).where(notices.c.id == notice_id))
        if found is None:
            raise NoticeError(
                "not_found", f"公告 {notice_id} 不存在", f"notice {notice_id} not found"
            )
        tx.conn.execute(
            update(notices)
            .where(notices.c.id == notice_id)
            .values(state="withdrawn", updated_at=tx.now)
        )
        tx.event("notice.withdrawn", "notice", notice_id, {"before": found})


def list_notices(
    engine: Engine, *, today: dt.date | None = None
) -> dict[str, list[dict[str, Any]]]:
    """current (in force today), upcoming, past (ended or withdrawn); newest first."""
    day = (today or dt.date.today()).isoformat()
    out: dict[str, list[dict[str, Any]]] = {"current": [], "upcoming": [], "past": []}
    with engine.connect() as conn:
        for r in conn.execute(
            select(notices).order_by(notices.c.starts_on.desc(), notices.c.id.desc())
        ):
            row = dict(r._mapping)
            if row["state"] == "withdrawn" or (row["ends_on"] and row["ends_on"] < day):
                out["past"].append(row)
            elif row["starts_on"] > day:
                out["upcoming"].append(row)
            else:
                out["current"].append(row)
    return out
