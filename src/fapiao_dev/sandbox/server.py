"""The sandbox tax platform: a real HTTP server speaking DESIGN.md's "Sandbox HTTP protocol", with
faults on demand. For development, demos and tests; it keeps its own SQLite file in its data dir.

Extensions to the protocol (documented in the README):
- `POST /api/v1/invoices/batch` — `{"items": [{"op": "upload"|"issue", "idempotency_key": K,
  "invoice": {...}}]}` → `{"results": [{"status": 201, "body": {...}, "replayed": false}]}`; each
  item is judged alone (own key, own drop-after-ack); outages, 5xx, 429 and timeouts hit the request.
- `POST /api/v1/invoices/lookup` — `{"keys": ["<number or code-number>", …]}` → `{"items": [...]}`:
  a batched get (only the invoices present and visible), for read-back of many invoices at once.
- `POST /api/v1/verify` answers 429 with code `daily_limit` after 5 查验 of one invoice in a day
  (Asia/Shanghai), as the real service refuses a sixth; on a match the answer carries `invoice`,
  the whole record (parties, amounts, lines) as canonical JSON, as the real service shows it.
- `GET /api/v1/export` adds 勾选状态, 用途 and 税款所属期 (YYYYMM) after the export's columns: each
  received blue invoice's 勾选 on the platform's side (`deduct.py`), as its 进项 list shows it.
- `GET /api/v1/health`, `GET /api/v1/admin/stats`, `POST /api/v1/admin/invoices/{key}/status`
  (`{"status": "red"|"void", "platform_status": "已红冲-全额"}`: a change made at the platform side).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from fapiao.authority.connector import verify_record
from fapiao.authority.records import record_from_json, record_to_json
from fapiao.codec import parse_date
from fapiao.model import AuthorityRecord, Identity, Status
from fapiao.money import MoneyError, parse_yuan
from fapiao_dev.sandbox import deduct as sandbox_deduct
from fapiao_dev.sandbox import red as sandbox_red
from fapiao_dev.sandbox.faults import Decision, FaultPlan, Faults, PlanError
from fapiao_dev.sandbox.store import Answer, SandboxStore

MAX_BATCH = 2000
VERIFY_DAILY_LIMIT = 5  # 查验 per invoice per day, as the real service allows


def _err(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _err(422, "bad_json", "请求体不是 JSON / the body is not JSON")


def create_app(data_dir: Path, plan: FaultPlan | None = None) -> FastAPI:
    store = SandboxStore(data_dir / "sandbox.sqlite")
    selections = sandbox_deduct.Selections(data_dir)
    faults = Faults(plan)
    verify_counts: dict[tuple[str, str], int] = {}  # (invoice, day) -> 查验 so far

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()
        selections.close()

    app = FastAPI(
        title="fapiao sandbox tax platform", docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.store = store
    app.state.faults = faults
    app.include_router(sandbox_deduct.router(store, selections))  # the platform's 勾选 side
    app.include_router(sandbox_red.router(store, data_dir))  # 红字确认单 between the parties

    async def gate() -> tuple[Decision, JSONResponse | None]:
        d = faults.decide()
        if d.latency_s:
            await asyncio.sleep(d.latency_s)
        if d.outage:
            return d, _err(
                503, "outage", "平台维护中 / platform unavailable", **{"Retry-After": "1"}
            )
        if d.rate_limited:
            return d, _err(
                429, "rate_limited", "请求过于频繁 / too many requests", **{"Retry-After": "1"}
            )
        if d.error:
            return d, _err(500, "injected", "平台内部错误 / internal error")
        return d, None

    async def finish(d: Decision, response: Response) -> Response:
        if d.timeout:  # applied, but the answer never comes in time
            await asyncio.sleep(faults.plan.timeout_hold_s)
            return _err(504, "timeout", "处理超时 / timed out")
        return response

    def visible_at() -> float:
        return time.time() + faults.visibility_delay_s

    def answer(a: Answer) -> JSONResponse:
        headers = {"Idempotent-Replayed": "true"} if a.replayed else {}
        return JSONResponse(a.body, status_code=a.status, headers=headers)

    async def write_one(request: Request, op: str) -> Response:
        d, failed = await gate()
        if failed:
            return failed
        doc = await _json(request)
        if isinstance(doc, JSONResponse):
            return doc
        key = request.headers.get("Idempotency-Key", "")
        (a,) = store.apply([(op, doc, key)], drops=[faults.drop()], visible_at=visible_at())
        return await finish(d, answer(a))

    @app.get("/api/v1/health")
    async def health() -> Response:
        d, failed = await gate()
        return failed or await finish(d, JSONResponse({"ok": True}))

    @app.post("/api/v1/invoices")
    async def upload(request: Request) -> Response:
        return await write_one(request, "upload")

    @app.post("/api/v1/invoices/issue")
    async def issue(request: Request) -> Response:
        return await write_one(request, "issue")

    @app.post("/api/v1/invoices/batch")
    async def batch(request: Request) -> Response:
        d, failed = await gate()
        if failed:
            return failed
        body = await _json(request)
        if isinstance(body, JSONResponse):
            return body
        raw = body.get("items") if isinstance(body, dict) else None
        if not isinstance(raw, list) or len(raw) > MAX_BATCH:
            return _err(
                422,
                "bad_batch",
                f"items 须为不超过 {MAX_BATCH} 项的列表 / items: list ≤ {MAX_BATCH}",
            )
        items = []
        for it in raw:
            it = it if isinstance(it, dict) else {}
            op = "issue" if it.get("op") == "issue" else "upload"
            items.append((op, it.get("invoice"), str(it.get("idempotency_key") or "")))
        answers = store.apply(items, drops=[faults.drop() for _ in items], visible_at=visible_at())
        results = [{"status": a.status, "body": a.body, "replayed": a.replayed} for a in answers]
        return await finish(d, JSONResponse({"results": results}))

    @app.get("/api/v1/invoices")
    async def list_invoices(request: Request) -> Response:
        d, failed = await gate()
        if failed:
            return failed
        q = request.query_params
        tax_id = q.get("tax_id", "")
        start = parse_date(q.get("from", "") or "1994-01-01")
        end = parse_date(q.get("to", "") or "2999-12-31")
        try:
            cursor = int(q.get("cursor") or 0)
            limit = max(1, min(int(q.get("limit") or 500), 5000))
        except ValueError:
            return _err(422, "bad_cursor", "cursor/limit 须为整数 / cursor and limit are integers")
        if not tax_id or start is None or end is None:
            return _err(422, "bad_query", "需要 tax_id、from、to / tax_id, from, to required")
        items, nxt = store.list(
            tax_id, start.isoformat(), end.isoformat(), cursor=cursor, limit=limit
        )
        held = selections.states(tax_id)  # as the platform's 进项 list: each one's 勾选 beside it
        items = [with_deduction_json(item, tax_id, held) for item in items]
        return await finish(
            d, JSONResponse({"items": items, "next_cursor": str(nxt) if nxt else None})
        )

    @app.post("/api/v1/invoices/lookup")
    async def lookup(request: Request) -> Response:
        d, failed = await gate()
        if failed:
            return failed
        body = await _json(request)
        if isinstance(body, JSONResponse):
            return body
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list) or len(keys) > 5000:
            return _err(422, "bad_query", "keys 须为不超过 5000 项的列表 / keys: list ≤ 5000")
        found = store.lookup([str(k) for k in keys])
        return await finish(d, JSONResponse({"items": found}))

    @app.get("/api/v1/invoices/{key}")
    async def get_invoice(key: str) -> Response:
        d, failed = await gate()
        if failed:
            return failed
        found = store.get(key)
        if found is None:
            return await finish(d, _err(404, "not_found", f"平台无此发票 / no invoice {key}"))
        return await finish(d, JSONResponse(found))

    @app.post("/api/v1/verify")
    async def verify(request: Request) -> Response:
        d, failed = await gate()
        if failed:
            return failed
        body = await _json(request)
        if isinstance(body, JSONResponse):
            return body
        if not isinstance(body, dict):
            return _err(422, "bad_query", "需要 JSON 对象 / a JSON object is required")
        day = parse_date(str(body.get("issue_date", "")))
        if day is None or not body.get("number"):
            return _err(
                422, "bad_query", "需要 number 与 issue_date / number and issue_date required"
            )
        try:
            amount = parse_yuan(body["amount"]) if body.get("amount") not in (None, "") else None
            total = parse_yuan(body["total"]) if body.get("total") not in (None, "") else None
        except (MoneyError, TypeError) as exc:
            return _err(422, "bad_query", str(exc))
        ident = Identity(str(body.get("code") or ""), str(body["number"]))
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))  # Asia/Shanghai
        verify_counts[(ident.key, today)] = seen = verify_counts.get((ident.key, today), 0) + 1
        if seen > VERIFY_DAILY_LIMIT:
            return await finish(
                d,
                _err(
                    429,
                    "daily_limit",
                    "超过该张发票当日查验次数，请于次日再次查验 / daily 查验 limit for this invoice reached",
                ),
            )
        doc = store.get_doc(ident.key)
        rec = record_from_json(store.get(ident.key)) if doc else None
        result = verify_record(
            rec,
            day,
            amount=amount,
            total=total,
            check_code=str(body.get("check_code") or ""),
            known_check_code=(doc or {}).get("check_code", ""),
        )
        return await finish(
            d,
            JSONResponse(
                {
                    "result": result.result,
                    "fields": list(result.fields),
                    "record": store.get(ident.key) if rec else None,
                    # as the real service shows the whole invoice once the inputs match
                    "invoice": doc if result.result == "match" else None,
                }
            ),
        )

    @app.get("/api/v1/export")
    async def export(request: Request) -> Response:
        d, failed = await gate()
        if failed:
            return failed
        q = request.query_params
        fmt = q.get("format", "xlsx")
        start = parse_date(q.get("from", "") or "1994-01-01")
        end = parse_date(q.get("to", "") or "2999-12-31")
        if fmt not in ("xlsx", "csv") or not q.get("tax_id") or start is None or end is None:
            return _err(422, "bad_query", "需要 tax_id、from、to、format=xlsx|csv")
        try:
            from fapiao.authority.export_file import write_export
        except ImportError:
            return _err(501, "not_implemented", "导出暂不可用 / export is not available")
        records, cursor = [], 0
        while True:
            items, nxt = store.list(
                q["tax_id"], start.isoformat(), end.isoformat(), cursor=cursor, limit=5000
            )
            records.extend(record_from_json(i) for i in items)
            if nxt is None:
                break
            cursor = nxt
        # as the platform's 进项 list: each received blue invoice's 勾选 beside it
        held = selections.states(q["tax_id"])
        records = [with_deduction(r, q["tax_id"], held) for r in records]
        data = write_export(records, fmt, deduction=True)
        media = (
            "text/csv; charset=utf-8"
            if fmt == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        name = f"全量发票查询_{q['tax_id']}_{start:%Y%m%d}_{end:%Y%m%d}.{fmt}"
        headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}"}
        return await finish(d, Response(data, media_type=media, headers=headers))

    @app.get("/api/v1/faults")
    async def get_faults() -> Response:
        return JSONResponse(faults.status())

    @app.put("/api/v1/faults")
    async def put_faults(request: Request) -> Response:
        body = await _json(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            faults.set(FaultPlan.from_json(body))
        except PlanError as exc:
            return _err(422, "bad_plan", str(exc))
        return JSONResponse(faults.status())

    @app.get("/api/v1/admin/stats")
    async def stats() -> Response:
        return JSONResponse(store.stats())

    @app.post("/api/v1/admin/invoices/{key}/status")
    async def set_status(key: str, request: Request) -> Response:
        body = await _json(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            status = Status(body.get("status") if isinstance(body, dict) else "")
        except ValueError:
            return _err(422, "bad_status", "status: normal | red | void")
        if not store.set_status(key, status, str(body.get("platform_status") or "")):
            return _err(404, "not_found", f"平台无此发票 / no invoice {key}")
        return JSONResponse({"key": key, "status": status.value})

    return app


def with_deduction(
    rec: AuthorityRecord, tax_id: str, held: dict[str, tuple[str, str, bool]]
) -> AuthorityRecord:
    """The record with its 勾选 as the buyer `tax_id` sees it: selected (period, purpose) or
    not; an issued, red or void invoice is not selectable and says nothing."""
    if rec.buyer.tax_id != tax_id or rec.status is not Status.NORMAL:
        return rec
    got = held.get(rec.identity.key)
    if got is None:
        return replace(rec, deduct_state="unselected")
    period, purpose, _confirmed = got
    return replace(rec, deduct_state="selected", deduct_purpose=purpose, deduct_period=period)


def with_deduction_json(
    item: dict[str, Any], tax_id: str, held: dict[str, tuple[str, str, bool]]
) -> dict[str, Any]:
    """A listed record (its JSON) with its 勾选 as `with_deduction` gives it, the others as they
    are: the list is paged thousands of records at a time, most of them not selectable."""
    buyer = item.get("buyer") or {}
    if buyer.get("tax_id") != tax_id or item.get("status") != Status.NORMAL.value:
        return item
    said = record_to_json(with_deduction(record_from_json(item), tax_id, held))
    return {**item, "deduction": said["deduction"]}


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


def load_plan(path: Path | None) -> FaultPlan:
    if path is None:
        return FaultPlan()
    return FaultPlan.from_json(json.loads(path.read_text(encoding="utf-8")))
