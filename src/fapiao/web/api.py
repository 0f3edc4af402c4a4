"""REST API under /api/v1: the CLI's operations for scripts (Bearer token) and pages (session +
CSRF header). OpenAPI at /api/v1/openapi.json. Errors: `{"error": {code, message, message_en}}`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from fapiao.auth import users as auth
from fapiao.ledger import audit, listing, queries
from fapiao.ledger.listing import BadQuery, Listing
from fapiao.parse import MAX_FILE_BYTES
from fapiao.web import api_params, data, jobs, search, uploads
from fapiao.web.pages import read_upload
from fapiao.web.security import Caller, Problem, ledger_for, not_found, requires


class ErrorBody(BaseModel):
    code: str
    message: str
    message_en: str


class Error(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "malformed request body"},
    401: {"model": Error, "description": "no or unknown session/token"},
    403: {"model": Error, "description": "not allowed for this role (or CSRF token missing)"},
    404: {"model": Error, "description": "not found, or in a tenant not granted"},
    409: {"model": Error, "description": "already exists"},
    413: {"model": Error, "description": "file too large"},
    422: {"model": Error, "description": "invalid parameters"},
}

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["fapiao"])
Reader = Annotated[Caller, Depends(requires("read"))]
Exporter = Annotated[Caller, Depends(requires("export"))]
Writer = Annotated[Caller, Depends(requires("write"))]
Auditor = Annotated[Caller, Depends(requires("audit"))]
Admin = Annotated[Caller, Depends(requires("admin"))]
# every tenant's business: user administration (`fapiao.auth.api`), new tenants, the whole chain
UserAdmin = Annotated[Caller, Depends(requires("admin", ledger_wide=True))]
WideAuditor = Annotated[Caller, Depends(requires("audit", ledger_wide=True))]


class Party(BaseModel):
    name: str
    tax_id: str


class InvoiceRow(BaseModel):
    id: str
    tenant_id: int
    direction: str
    kind: str
    code: str
    number: str
    issue_date: str
    seller: Party
    buyer: Party
    amount: str
    tax: str
    total: str
    status: str
    authority_state: str
    source: str


class InvoicePage(BaseModel):
    items: list[InvoiceRow]
    offset: int
    limit: int
    next_offset: int | None
    next_after: str | None = Field(
        description="cursor of the next page: pass it as `after` (keyset paging, any depth)"
    )


class Me(BaseModel):
    name: str
    role: str
    tenants: list[int] | None = Field(description="granted tenant ids; null: every tenant (admin)")


class Tenant(BaseModel):
    id: int
    tax_id: str
    name: str


class TenantIn(BaseModel):
    tax_id: str = Field(pattern=r"^[0-9A-Z]{15,20}$", description="统一社会信用代码 / 纳税人识别号")
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")


class ImportResult(BaseModel):
    imported: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    # head-only records (from the platform's list) that their own file completed
    completed: list[dict[str, Any]] = []


class AuditResult(BaseModel):
    ok: bool
    events: int
    invoices: int
    problems: list[dict[str, Any]]


Direction = Literal["issued", "received"]
Kind = Literal[
    "digital_special",
    "digital_normal",
    "vat_electronic_special",
    "vat_electronic_normal",
    "vat_special",
    "vat_normal",
    "other",
]
Status = Literal["normal", "red", "void"]
State = Literal["local", "queued", "uploaded", "confirmed", "missing", "mismatch"]
Sort = Literal["date", "total", "number", "seller", "buyer", "recorded"]


DATE = r"^\d{4}-\d{2}-\d{2}$"


async def list_params(
    tenant: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    period: Annotated[
        str | None, Query(pattern=r"^[1-9]\d{3}(-(0[1-9]|1[0-2]))?$", description="YYYY or YYYY-MM")
    ] = None,
    date_from: Annotated[
        str | None, Query(alias="from", pattern=DATE, description="YYYY-MM-DD")
    ] = None,
    date_to: Annotated[
        str | None, Query(alias="to", pattern=DATE, description="YYYY-MM-DD")
    ] = None,
    direction: Direction | None = None,
    kind: Kind | None = None,
    status: Status | None = None,
    authority_state: State | None = None,
    counterparty: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="full-text: parties, tax IDs, numbers, item names"),
    ] = None,
    sort: Annotated[
        Sort | None, Query(description="default: date; when searching (q), newest recorded")
    ] = None,
    order: Literal["asc", "desc"] = "desc",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=listing.MAX_LIMIT)] = 50,
    after: Annotated[
        str | None,
        Query(
            max_length=600,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="`next_after` of the previous page (same sort and order)",
        ),
    ] = None,
    state: Annotated[
        list[str] | None,
        Query(
            max_length=200,
            description="入账/报销/勾选/红冲 state, repeatable or comma-separated (OR within one "
            "state, AND across states): booked, unbooked, claimed, unclaimed, selected, "
            "unselected, red_partial, red_full",
        ),
    ] = None,
    include: Annotated[
        list[str] | None,
        Query(
            max_length=200,
            description="states to add to each row: booking, claim, deduction, reversal, or all",
        ),
    ] = None,
) -> Listing:
    try:
        start = dt.date.fromisoformat(date_from) if date_from else None
        end = dt.date.fromisoformat(date_to) if date_to else None
    except ValueError as exc:
        raise Problem(422, "invalid", f"日期无效：{exc}", f"invalid date: {exc}") from exc
    try:
        return Listing(
            tenant=tenant,
            period=period,
            date_from=start,
            date_to=end,
            direction=direction,
            kind=kind,
            status=status,
            authority_state=authority_state,
            counterparty=counterparty or None,
            q=q or None,
            sort=sort or listing.default_sort(q),
            desc=order == "desc",
            offset=offset,
            limit=limit,
            after=after or None,
            states=listing.many({"state": ",".join(state or ())}, "state"),
            include=listing.many({"include": ",".join(include or ())}, "include"),
        )
    except BadQuery as exc:
        raise Problem(422, "invalid", f"请求参数无效：{exc.zh}", f"invalid request: {exc}") from exc


Params = Annotated[Listing, Depends(list_params)]


@router.get("/me", response_model=Me)
def me(caller: Reader) -> Me:
    u = caller.user
    return Me(name=u.name, role=u.role, tenants=None if u.tenants is None else sorted(u.tenants))


@router.get("/tenants", response_model=list[Tenant])
def tenants(request: Request, caller: Reader) -> list[Tenant]:
    rows = auth.tenant_names(ledger_for(request), caller.user)
    return [Tenant(id=r["id"], tax_id=r["tax_id"], name=r["name"]) for r in rows]


@router.post("/tenants", response_model=Tenant, status_code=201)
def tenant_add(request: Request, body: TenantIn, caller: UserAdmin) -> Tenant:
    tid, findings = ledger_for(request, caller.user).add_tenant(tax_id=body.tax_id, name=body.name)
    if findings or tid is None:
        f = findings[0]
        raise Problem(422, f.code, f.message, f.message_en)
    return Tenant(id=tid, tax_id=body.tax_id.strip().upper(), name=body.name.strip())


LITERALS = {
    "direction": Direction,
    "kind": Kind,
    "status": Status,
    "authority_state": State,
    "sort": Sort,
}


@router.get(
    "/invoices",
    responses={200: {"model": InvoicePage}},
    response_model=None,
    openapi_extra={"parameters": api_params.documented(list_params)},
)
async def invoices(request: Request, caller: Reader) -> Response:
    """List and search invoices in the caller's tenants (filters, full-text `q`, sort, paging)."""
    q = api_params.parse_list(request.query_params, LITERALS)
    engine, tenants = request.app.state.engine, caller.user.tenants
    if search.is_quick(engine, q):
        # an index-bounded read of a local file: a thread hop (and its contention for the
        # interpreter lock) would cost more than the read
        rows, after = queries.page(engine, q, tenants, index_checked=True)
    else:
        rows, after = await run_in_threadpool(queries.page, engine, q, tenants)
    body = {
        "items": rows,
        "offset": q.offset,
        "limit": q.limit,
        "next_offset": q.offset + q.limit if after else None,
        "next_after": after,
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/invoices/export",
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
    response_class=Response,
)
async def export(
    request: Request, params: Params, caller: Exporter, format: Literal["csv", "xlsx"] = "csv"
) -> Response:
    """Every matching invoice as CSV (UTF-8 with BOM) or Excel, with its 入账, 报销, 勾选 and 红冲
    state."""
    engine, tenants = request.app.state.engine, caller.user.tenants
    params = replace(params, include=("all",))
    if format == "xlsx":
        body = await jobs.run(
            lambda: data.xlsx_bytes(queries.stream(engine, params, tenants), lang="en")
        )
        return Response(
            body,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": "attachment; filename=invoices.xlsx"},
        )
    return StreamingResponse(
        data.csv_chunks(queries.stream(engine, params, tenants), lang="en"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=invoices.csv"},
    )


@router.get("/invoices/{invoice_id}", response_model=dict[str, Any])
def invoice(
    request: Request, invoice_id: Annotated[int, Path(ge=0, le=2**62)], caller: Reader
) -> dict[str, Any]:
    """One invoice in full: canonical fields, findings, conflicts, original file, audit events."""
    found = data.invoice_detail(request.app.state.engine, caller.user, invoice_id)
    if found is None:
        raise not_found()
    return found


@router.get(
    "/invoices/{invoice_id}/original",
    responses={200: {"content": {"application/octet-stream": {}}}},
    response_class=Response,
)
def invoice_original(
    request: Request, invoice_id: Annotated[int, Path(ge=0, le=2**62)], caller: Reader
) -> Response:
    got = data.original(request.app.state.engine, caller.user, invoice_id)
    if got is None:
        raise not_found()
    return Response(got[1], media_type="application/octet-stream")


@router.post("/import", response_model=ImportResult)
async def import_files(
    request: Request, caller: Writer, files: Annotated[list[UploadFile], File()]
) -> dict[str, Any]:
    """Import files (the `import --json` contract); rejects are quarantined with their findings.
    A file above the per-file cap is rejected with `too_large`; the request as a whole has its cap."""
    led, user = ledger_for(request, caller.user), caller.user

    def job() -> dict[str, Any]:
        loaded = (((f.filename or "upload")[-300:], read_upload(f)) for f in files[:1000])
        return data.import_uploads(led, user, loaded).to_json()

    return await jobs.run(job)


@router.post("/parse", response_model=list[dict[str, Any]])
async def parse_files(
    caller: Reader, files: Annotated[list[UploadFile], File()]
) -> list[dict[str, Any]]:
    """Parse and validate; store nothing (the `parse --json` contract)."""
    for f in files[:1000]:
        uploads.check(f, MAX_FILE_BYTES)
    loaded = (((f.filename or "upload")[-300:], read_upload(f)) for f in files[:1000])
    return await jobs.run(data.parse_uploads, loaded)


@router.get("/audit/verify", response_model=AuditResult)
def audit_verify(request: Request, caller: WideAuditor) -> dict[str, Any]:
    """Walk the hash chain and check the current state against it (`audit verify`). The chain
    covers every tenant, so only users of every tenant may run it (403 `ledger_wide`)."""
    return audit.verify(request.app.state.engine).to_json()
