"""Exchanging 红字确认单 with the platform: our pending requests are sent (once: the platform
answers the same `ref` with the same 确认单), and the counterparty's decisions taken in — a
confirmation issues the red invoice, a rejection or the platform's expiry closes the request.

HTTP stays at the edge: the caller hands in `post(path, body) -> (status, json)` and
`get(path, params) -> json` (the command line uses httpx against the sandbox or a provider).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from fapiao.ledger import schema
from fapiao.ledger.store import Ledger
from fapiao.red import service
from fapiao.red.tables import requests

Post = Callable[[str, dict[str, Any]], tuple[int, Any]]
Get = Callable[[str, dict[str, str]], Any]


def exchange(ledger: Ledger, *, post: Post, get: Get) -> dict[str, list[Any]]:
    report: dict[str, list[Any]] = {
        "sent": [],
        "refused": [],
        "confirmed": [],
        "rejected": [],
        "expired": [],
    }
    tenants = {t["id"]: t["tax_id"] for t in ledger.tenant_rows()}
    with ledger.engine.connect() as conn:
        unsent = (
            conn.execute(
                select(requests).where(requests.c.state == "pending", requests.c.platform_id == "")
            )
            .mappings()
            .all()
        )
        blue_keys = {
            r.id: r.identity_key
            for r in conn.execute(
                select(schema.invoices.c.id, schema.invoices.c.identity_key).where(
                    schema.invoices.c.id.in_([u["blue_id"] for u in unsent] or [-1])
                )
            )
        }
    for req in unsent:
        body = {
            "ref": f"{tenants[req['tenant_id']]}-{req['id']}",
            "tax_id": tenants[req["tenant_id"]],
            "blue": blue_keys[req["blue_id"]],
            "reason": req["reason"],
            "total": service.public(dict(req))["total"],
            "items": service.public(dict(req))["items"],
        }
        status, answer = post("/api/v1/red/requests", body)
        if status >= 400:
            report["refused"].append({"id": str(req["id"]), "answer": answer})
            continue
        with ledger.write() as tx:
            tx.conn.execute(
                update(requests)
                .where(requests.c.id == req["id"])
                .values(platform_id=answer["platform_id"])
            )
            tx.event(
                "red.sent",
                "red_request",
                req["id"],
                {"platform_id": answer["platform_id"]},
                tenant_id=req["tenant_id"],
            )
        report["sent"].append({"id": str(req["id"]), "platform_id": answer["platform_id"]})
    for tenant_id, tax_id in tenants.items():
        decided = {
            i["platform_id"]: i["state"]
            for i in get("/api/v1/red/requests", {"tax_id": tax_id})["items"]
        }
        with ledger.engine.connect() as conn:
            ours = conn.execute(
                select(requests.c.id, requests.c.platform_id).where(
                    requests.c.tenant_id == tenant_id,
                    requests.c.state == "pending",
                    requests.c.platform_id != "",
                )
            ).all()
        for rid, pid in ours:
            state = decided.get(pid)
            if state == "confirmed":
                _, problems = service.confirm(ledger, rid=rid)
                report["confirmed"].append(
                    {"id": str(rid), "problems": [p.to_json() for p in problems]}
                )
            elif state == "rejected":
                service.reject(ledger, rid=rid)
                report["rejected"].append({"id": str(rid)})
            elif state == "expired":
                service.mark_expired(ledger, rid=rid)
                report["expired"].append({"id": str(rid)})
    return report
