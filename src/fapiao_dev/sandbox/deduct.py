"""The sandbox platform's 勾选 side: select, unselect and 统计确认 per 税款所属期, and the list of
selected invoices (the platform's 勾选 export) so that the ledger's 勾选 state can be compared.

Joined to the sandbox app by one `include_router(router(store, book))`, `book` the `Selections`
kept in their own SQLite file beside the sandbox's; the 全量发票查询 export asks the same book for
each received invoice's 勾选状态, 用途 and 税款所属期 (`Selections.states`). Endpoints (JSON; `tax_id` is the buyer's 纳税人识别号):
- `POST /api/v1/deduct/select` `{"tax_id", "period", "keys": [...], "purpose": "deduct"|"no_deduct",
  "reason"}` → 200 `{"selected": [...]}`, or 422 `{"error": …, "refused": [{"key", "code"}]}`,
  nothing changed;
- `POST /api/v1/deduct/unselect` `{"tax_id", "keys": [...]}`;
- `POST /api/v1/deduct/confirm` `{"tax_id", "period"}` → 409 when already confirmed;
- `GET /api/v1/deduct?tax_id=&period=&format=json|csv` → the period's selections and its state.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from fapiao_dev.sandbox.store import SandboxStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS selections (key TEXT PRIMARY KEY, tax_id TEXT NOT NULL,
  period TEXT NOT NULL, purpose TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS periods (tax_id TEXT NOT NULL, period TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (tax_id, period));
"""
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
CSV_COLUMNS = [
    "序号",
    "税款所属期",
    "数电发票号码",
    "发票代码",
    "发票号码",
    "开票日期",
    "销方识别号",
    "销方名称",
    "金额",
    "税额",
    "勾选状态",
    "用途",
    "不抵扣原因",
]
PURPOSE_ZH = {"deduct": "抵扣", "no_deduct": "不抵扣"}


def _err(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}, **extra}, status_code=status)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Selections:
    """The platform's 勾选 book: one SQLite file, one lock for every change."""

    def __init__(self, data_dir: Path) -> None:
        self.db = sqlite3.connect(
            data_dir / "deduct.sqlite", check_same_thread=False, isolation_level=None
        )
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()

    def states(self, tax_id: str) -> dict[str, tuple[str, str, bool]]:
        """The buyer's selected invoices: key -> (period YYYY-MM, purpose, period confirmed)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT s.key, s.period, s.purpose, p.at IS NOT NULL FROM selections s "
                "LEFT JOIN periods p ON p.tax_id = s.tax_id AND p.period = s.period "
                "WHERE s.tax_id = ?",
                (tax_id,),
            ).fetchall()
        return {key: (period, purpose, bool(done)) for key, period, purpose, done in rows}

    def close(self) -> None:
        self.db.close()


def router(store: SandboxStore, book: Selections) -> APIRouter:
    db, lock = book.db, book.lock
    api = APIRouter(prefix="/api/v1/deduct")

    def confirmed(tax_id: str, period: str) -> bool:
        q = "SELECT 1 FROM periods WHERE tax_id = ? AND period = ?"
        return db.execute(q, (tax_id, period)).fetchone() is not None

    async def body_of(request: Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @api.post("/select")
    async def select(request: Request) -> Response:
        body = await body_of(request)
        if body is None or not PERIOD.match(str(body.get("period", ""))):
            return _err(422, "bad_request", "需要 tax_id、period (YYYY-MM)、keys")
        tax_id, period = str(body.get("tax_id", "")), body["period"]
        purpose, reason = body.get("purpose", "deduct"), str(body.get("reason", ""))
        keys = [str(k) for k in body.get("keys") or []]
        if purpose not in PURPOSE_ZH or (purpose == "no_deduct" and not reason):
            return _err(422, "bad_purpose", "用途为 deduct 或 no_deduct（须附原因）")
        with lock:
            refused = []
            if confirmed(tax_id, period):
                refused.append({"key": "", "code": "period_confirmed"})
            for key in keys:
                rec = store.get(key)
                held = db.execute("SELECT period FROM selections WHERE key = ?", (key,)).fetchone()
                if rec is None:
                    refused.append({"key": key, "code": "not_found"})
                elif (rec.get("buyer") or {}).get("tax_id") != tax_id:
                    refused.append({"key": key, "code": "not_buyer"})
                elif rec.get("status") != "normal":
                    refused.append({"key": key, "code": "not_normal"})
                elif held is not None and held[0] != period:
                    refused.append({"key": key, "code": "other_period"})
            if refused:
                return _err(422, "refused", "勾选被拒绝 / selection refused", refused=refused)
            for key in keys:
                db.execute(
                    "INSERT OR REPLACE INTO selections VALUES (?, ?, ?, ?, ?, ?)",
                    (key, tax_id, period, purpose, reason, _now()),
                )
        return JSONResponse({"selected": keys, "period": period, "purpose": purpose})

    @api.post("/unselect")
    async def unselect(request: Request) -> Response:
        body = await body_of(request)
        if body is None:
            return _err(422, "bad_request", "需要 tax_id、keys")
        tax_id, keys = str(body.get("tax_id", "")), [str(k) for k in body.get("keys") or []]
        with lock:
            refused = []
            for key in keys:
                q = "SELECT period FROM selections WHERE key = ? AND tax_id = ?"
                held = db.execute(q, (key, tax_id)).fetchone()
                if held is None:
                    refused.append({"key": key, "code": "not_selected"})
                elif confirmed(tax_id, held[0]):
                    refused.append({"key": key, "code": "period_confirmed"})
            if refused:
                return _err(422, "refused", "撤销勾选被拒绝 / unselect refused", refused=refused)
            for key in keys:
                db.execute("DELETE FROM selections WHERE key = ?", (key,))
        return JSONResponse({"unselected": keys})

    @api.post("/confirm")
    async def confirm(request: Request) -> Response:
        body = await body_of(request)
        if body is None or not PERIOD.match(str(body.get("period", ""))):
            return _err(422, "bad_request", "需要 tax_id、period (YYYY-MM)")
        tax_id, period = str(body.get("tax_id", "")), body["period"]
        with lock:
            if confirmed(tax_id, period):
                return _err(409, "period_confirmed", f"所属期 {period} 已确认")
            db.execute("INSERT INTO periods VALUES (?, ?, ?)", (tax_id, period, _now()))
        return JSONResponse(listing(tax_id, period))

    def listing(tax_id: str, period: str) -> dict[str, Any]:
        rows = db.execute(
            "SELECT key, purpose, reason, at FROM selections WHERE tax_id = ? AND period = ?"
            " ORDER BY key",
            (tax_id, period),
        ).fetchall()
        items = []
        for key, purpose, reason, at in rows:
            rec = store.get(key) or {}
            items.append(
                {
                    "key": key,
                    "code": rec.get("code", ""),
                    "number": rec.get("number", key),
                    "issue_date": rec.get("issue_date", ""),
                    "seller": rec.get("seller") or {},
                    "amount": rec.get("amount", ""),
                    "tax": rec.get("tax", ""),
                    "purpose": purpose,
                    "reason": reason,
                    "selected_at": at,
                }
            )
        return {
            "tax_id": tax_id,
            "period": period,
            "confirmed": confirmed(tax_id, period),
            "items": items,
        }

    @api.get("")
    async def selections(request: Request) -> Response:
        q = request.query_params
        tax_id, period = q.get("tax_id", ""), q.get("period", "")
        if not tax_id or not PERIOD.match(period):
            return _err(422, "bad_query", "需要 tax_id、period (YYYY-MM)")
        with lock:
            data = listing(tax_id, period)
        if q.get("format", "json") != "csv":
            return JSONResponse(data)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_COLUMNS)
        for n, it in enumerate(data["items"], 1):
            digital = "" if it["code"] else it["number"]
            w.writerow(
                [
                    n,
                    period,
                    digital,
                    it["code"],
                    "" if digital else it["number"],
                    it["issue_date"],
                    it["seller"].get("tax_id", ""),
                    it["seller"].get("name", ""),
                    it["amount"],
                    it["tax"],
                    "已确认" if data["confirmed"] else "已勾选",
                    PURPOSE_ZH[it["purpose"]],
                    it["reason"],
                ]
            )
        return Response(buf.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8")

    return api
