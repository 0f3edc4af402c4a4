"""What the pages and listings show: a blue invoice's 红冲 state (部分红冲 / 全额红冲, its red
invoices and requests) and the requests of a tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from fapiao.ledger import schema
from fapiao.money import format_fen
from fapiao.red.service import public, reversed_so_far
from fapiao.red.tables import requests

inv = schema.invoices


def label(blue_total: int, reversed_fen: int) -> tuple[str, str]:
    if reversed_fen <= 0:
        return "", ""
    if reversed_fen >= blue_total:
        return "全额红冲", "fully reversed"
    return "部分红冲", "partly reversed"


def of_blue(conn: Connection, blue: dict[str, Any]) -> dict[str, Any]:
    done, held = reversed_so_far(conn, blue)
    zh, en = label(blue["total"], done)
    reds = [
        {
            "id": str(r.id),
            "key": r.identity_key,
            "number": r.number,
            "total": format_fen(r.total),
            "authority_state": r.authority_state,
        }
        for r in conn.execute(
            select(inv)
            .where(
                inv.c.tenant_id == blue["tenant_id"],
                inv.c.original_key == blue["identity_key"],
                inv.c.status == "red",
            )
            .order_by(inv.c.id)
        )
    ]
    reqs = [
        public(dict(r._mapping))
        for r in conn.execute(
            select(requests).where(requests.c.blue_id == blue["id"]).order_by(requests.c.id)
        )
    ]
    return {
        "red_state": zh,
        "red_state_en": en,
        "reversed": format_fen(done),
        "pending": format_fen(held),
        "remaining": format_fen(blue["total"] - done - held),
        "red_invoices": reds,
        "requests": reqs,
    }


def of_red(conn: Connection, red: dict[str, Any]) -> dict[str, Any]:
    """A red invoice's page: the blue invoice it reverses and the 红字确认单 it was issued on."""
    blue = conn.execute(
        select(inv.c.id, inv.c.identity_key, inv.c.total).where(
            inv.c.tenant_id == red["tenant_id"], inv.c.identity_key == red["original_key"]
        )
    ).first()
    req = conn.execute(
        select(requests).where(requests.c.red_invoice_id == red["id"]).order_by(requests.c.id)
    ).first()
    return {
        "blue": {"id": str(blue.id), "key": blue.identity_key, "total": format_fen(blue.total)}
        if blue is not None
        else None,
        "blue_key": red["original_key"],
        "request": public(dict(req._mapping)) if req is not None else None,
    }


def listing(
    conn: Connection, *, tenant_ids: list[int] | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    q = select(requests).order_by(requests.c.id)
    if tenant_ids is not None:
        q = q.where(requests.c.tenant_id.in_(tenant_ids or [-1]))
    if state:
        q = q.where(requests.c.state == state)
    return [public(dict(r._mapping)) for r in conn.execute(q)]
