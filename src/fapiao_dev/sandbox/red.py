"""The sandbox platform's 红字确认单: one party of a blue invoice raises it, the other confirms or
rejects it within 72 hours, after which it expires. Joined to the sandbox app by one
`include_router(router(store, data_dir))`; its state is kept in its own SQLite file.

- `POST /api/v1/red/requests` `{"ref", "tax_id", "blue", "reason", "total", "items"}` → 201
  `{"platform_id", "state": "pending", "deadline"}`; the same `ref` again answers the first (200);
  refused (422) when the blue invoice is unknown, not normal, or `tax_id` is neither of its parties.
- `GET /api/v1/red/requests?tax_id=` → the requests where the taxpayer is either party.
- `POST /api/v1/red/requests/{platform_id}/confirm|reject` `{"tax_id"}` — only the other party
  decides; 409 when it is no longer pending (or has expired).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from fapiao_dev.sandbox.store import SandboxStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS red_requests (platform_id TEXT PRIMARY KEY, ref TEXT UNIQUE NOT NULL,
  requester TEXT NOT NULL, counterparty TEXT NOT NULL, blue TEXT NOT NULL, reason TEXT NOT NULL,
  total TEXT NOT NULL, items TEXT NOT NULL, state TEXT NOT NULL, created TEXT NOT NULL,
  deadline TEXT NOT NULL, decided TEXT NOT NULL);
"""
WINDOW = dt.timedelta(hours=72)
COLUMNS = ("platform_id", "ref", "requester", "counterparty", "blue", "reason", "total", "items",
           "state", "created", "deadline", "decided")  # fmt: skip


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def router(store: SandboxStore, data_dir: Path) -> APIRouter:
    db = sqlite3.connect(data_dir / "red.sqlite", check_same_thread=False, isolation_level=None)
    db.executescript(SCHEMA)
    lock = threading.Lock()
    api = APIRouter(prefix="/api/v1/red/requests")

    def public(row: tuple[Any, ...]) -> dict[str, Any]:
        out = dict(zip(COLUMNS, row, strict=True))
        out["items"] = json.loads(out["items"])
        if out["state"] == "pending" and out["deadline"] < _now().isoformat():
            out["state"] = "expired"  # as the platform shows it once the 72 hours are over
        return out

    def one(column: str, value: str) -> dict[str, Any] | None:
        row = db.execute(f"SELECT * FROM red_requests WHERE {column} = ?", (value,)).fetchone()
        return public(row) if row else None

    @api.post("")
    async def create(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _err(422, "bad_json", "请求体不是 JSON")
        if not isinstance(body, dict) or not body.get("ref") or not body.get("blue"):
            return _err(422, "bad_request", "需要 ref、tax_id、blue、reason、total")
        with lock:
            first = one("ref", str(body["ref"]))
            if first is not None:
                return JSONResponse(first)
            blue = store.get(str(body["blue"]))
            if blue is None:
                return _err(422, "blue_not_found", "平台无此蓝字发票")
            if blue.get("status") != "normal":
                return _err(422, "blue_not_normal", "蓝字发票已红冲或作废")
            seller, buyer = blue["seller"]["tax_id"], blue["buyer"]["tax_id"]
            requester = str(body.get("tax_id", ""))
            if requester not in (seller, buyer):
                return _err(422, "not_a_party", "申请方不是该发票的购销方")
            (n,) = db.execute("SELECT COUNT(*) FROM red_requests").fetchone()
            pid = f"HZ{n + 1:018d}"
            now = _now()
            values = (
                pid, str(body["ref"]), requester, buyer if requester == seller else seller,
                str(body["blue"]), str(body.get("reason", "")), str(body.get("total", "")),
                json.dumps(body.get("items") or [], ensure_ascii=False), "pending",
                now.isoformat(), (now + WINDOW).isoformat(), "",
            )  # fmt: skip
            db.execute(f"INSERT INTO red_requests VALUES ({', '.join('?' * len(COLUMNS))})", values)
            return JSONResponse(one("platform_id", pid), status_code=201)

    @api.get("")
    async def listing(tax_id: str = "") -> Response:
        with lock:
            rows = db.execute(
                "SELECT * FROM red_requests WHERE requester = ? OR counterparty = ?"
                " ORDER BY platform_id",
                (tax_id, tax_id),
            ).fetchall()
        return JSONResponse({"items": [public(r) for r in rows]})

    @api.post("/{pid}/{action}")
    async def decide(pid: str, action: str, request: Request) -> Response:
        if action not in ("confirm", "reject"):
            return _err(404, "not_found", "no such action")
        try:
            body = await request.json()
        except ValueError:
            body = {}
        with lock:
            req = one("platform_id", pid)
            if req is None:
                return _err(404, "not_found", f"无此确认单 {pid}")
            if str((body or {}).get("tax_id", "")) != req["counterparty"]:
                return _err(403, "not_counterparty", "只有对方可以确认或拒绝")
            if req["state"] != "pending":
                return _err(409, req["state"], f"确认单状态为 {req['state']}")
            state = "confirmed" if action == "confirm" else "rejected"
            db.execute(
                "UPDATE red_requests SET state = ?, decided = ? WHERE platform_id = ?",
                (state, _now().isoformat(), pid),
            )
            return JSONResponse(one("platform_id", pid))

    return api
