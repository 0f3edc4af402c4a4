"""Insight pages: statistics with server-drawn charts, cross-tenant matching, and on an invoice's
page its category (correctable) and 查验 (run on demand). Declared by `fapiao.insight.plugin`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from fapiao import vocabulary
from fapiao.auth import users as auth
from fapiao.insight import match, settings, stats
from fapiao.insight.categories import CategoryError, correct, table_for
from fapiao.insight.show import insight_of
from fapiao.ledger.queries import period_bounds
from fapiao.money import parse_yuan
from fapiao.web import charts, jobs, nav
from fapiao.web.search import visible_invoice
from fapiao.web.security import Caller, Problem, ledger_for, not_found, requires
from fapiao.web.templating import lang_of, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(requires("read"))]
Exporter = Annotated[Caller, Depends(requires("export"))]
Writer = Annotated[Caller, Depends(requires("write"))]


def _scope(request: Request, caller: Caller) -> tuple[list[int], str | None, int | None]:
    """(tenant ids to show, period, the one tenant asked for) within the user's grants."""
    params = request.query_params
    period = (params.get("period") or "").strip() or None
    try:
        stats.month_range(period)
        if period:
            period_bounds(period)
    except ValueError as exc:
        raise Problem(400, "bad_filter", f"期间无效：{period}", f"bad period: {period}") from exc
    led = ledger_for(request)
    granted = [t["id"] for t in led.tenant_rows() if caller.user.sees(t["id"])]
    raw = (params.get("tenant") or "").strip()
    if raw:
        if not raw.isdigit() or int(raw) not in granted:
            raise not_found()
        return [int(raw)], period, int(raw)
    return granted, period, None


def _yuan(text: str) -> float:
    return parse_yuan(text) / 100


@router.get("/insight/stats")
def stats_page(request: Request, caller: Reader) -> Response:
    tenant_ids, period, chosen = _scope(request, caller)
    report = stats.compute(ledger_for(request, caller.user), tenant_ids=tenant_ids, period=period)
    en = lang_of(request) == "en"
    blocks = []
    for t in report["tenants"]:
        months = [m["month"] for m in t["by_month"]]
        month_chart = charts.bars(
            [m[2:] for m in months],
            [
                charts.Series(
                    "issued" if en else "销项", [_yuan(m["issued"]["total"]) for m in t["by_month"]]
                ),
                charts.Series(
                    "received" if en else "进项",
                    [_yuan(m["received"]["total"]) for m in t["by_month"]],
                ),
            ],
            title="totals per month" if en else "每月价税合计",
        )
        cats = sorted({c["category"] for c in t["by_category"]})
        label = {c["category"]: (c["en"] if en else c["zh"]) for c in t["by_category"]}
        by = {(c["direction"], c["category"]): _yuan(c["amount"]) for c in t["by_category"]}
        cat_chart = charts.bars(
            [label[c] for c in cats],
            [
                charts.Series(
                    "issued" if en else "销项", [max(0.0, by.get(("issued", c), 0.0)) for c in cats]
                ),
                charts.Series(
                    "received" if en else "进项",
                    [max(0.0, by.get(("received", c), 0.0)) for c in cats],
                ),
            ],
            title="amount per category" if en else "各类别金额",
        )
        rates = sorted({r["tax_rate"] for r in t["by_rate"]})
        rt = {(r["direction"], r["tax_rate"]): _yuan(r["tax"]) for r in t["by_rate"]}
        rate_chart = charts.bars(
            [vocabulary.rate(r) for r in rates],
            [
                charts.Series(
                    "output tax" if en else "销项税额",
                    [max(0.0, rt.get(("issued", r), 0.0)) for r in rates],
                ),
                charts.Series(
                    "input tax" if en else "进项税额",
                    [max(0.0, rt.get(("received", r), 0.0)) for r in rates],
                ),
            ],
            title="tax per rate" if en else "各税率税额",
        )
        blocks.append(
            {"t": t, "month_chart": month_chart, "cat_chart": cat_chart, "rate_chart": rate_chart}
        )
    tenants = auth.tenant_names(ledger_for(request), caller.user)
    query = {k: v for k, v in (("tenant", str(chosen or "")), ("period", period or "")) if v}
    return render(
        request,
        "insight/stats.html",
        {
            "report": report,
            "blocks": blocks,
            "tenants": tenants,
            "chosen": chosen,
            "period": period or "",
            "xlsx_link": "/insight/stats.xlsx?" + urlencode(query),
        },
    )


@router.get("/insight/stats.xlsx")
async def stats_xlsx(request: Request, caller: Exporter) -> Response:
    tenant_ids, period, _chosen = _scope(request, caller)
    led = ledger_for(request, caller.user)

    def job() -> bytes:
        return stats.to_xlsx(stats.compute(led, tenant_ids=tenant_ids, period=period))

    return Response(
        await jobs.run(job),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=statistics.xlsx"},
    )


@router.get("/insight/match")
def match_page(request: Request, caller: Reader) -> Response:
    tenant_ids, period, chosen = _scope(request, caller)
    report = match.match(request.app.state.engine, tenant_ids=tenant_ids, period=period)
    sees = caller.user.sees
    entries = [
        (cat, e)
        for cat in match.CATEGORIES
        for e in report.entries[cat]
        # a user sees a difference when it concerns a tenant they may see
        if any(p["tenant_id"] is not None and sees(p["tenant_id"]) for p in (e.seller, e.buyer))
    ]
    return render(
        request,
        "insight/match.html",
        {
            "report": report,
            "entries": entries,
            "tenants": auth.tenant_names(ledger_for(request), caller.user),
            "chosen": chosen,
            "period": period or "",
        },
    )


def _visible(request: Request, caller: Caller, invoice_id: int) -> Any:
    row = visible_invoice(request.app.state.engine, invoice_id, caller.user.tenants)
    if row is None:
        raise not_found()
    return row


@router.post("/insight/invoices/{invoice_id}/verify")
def verify_one(request: Request, invoice_id: int, caller: Writer) -> Response:
    from fapiao.authority.http import HttpConnector
    from fapiao.insight.verify import RateLimit, verify_invoices

    _visible(request, caller, invoice_id)
    url = settings.AUTHORITY.get()
    if not url:
        raise Problem(
            503,
            "no_authority",
            "未配置税务平台地址（FAPIAO_AUTHORITY）",
            "no authority configured (FAPIAO_AUTHORITY)",
        )
    with HttpConnector(url) as conn:
        verify_invoices(
            ledger_for(request, caller.user),
            conn,
            [invoice_id],
            daily_limit=int(settings.number(settings.VERIFY_DAILY_LIMIT)),
            rate=RateLimit(settings.number(settings.VERIFY_RATE)),
        )
    return RedirectResponse(f"/invoices/{invoice_id}#insight", status_code=303)


@router.post("/insight/invoices/{invoice_id}/category")
def set_category(
    request: Request,
    invoice_id: int,
    caller: Writer,
    category: Annotated[str, Form(max_length=40)],
) -> Response:
    _visible(request, caller, invoice_id)
    try:
        correct(ledger_for(request, caller.user), invoice_id, category)
    except CategoryError as exc:
        raise Problem(422, "bad_category", exc.zh, exc.en) from exc
    return RedirectResponse(f"/invoices/{invoice_id}#insight", status_code=303)


def panel_data(request: Request, inv: dict[str, Any]) -> dict[str, Any]:
    """For the invoice page's insight panel (the page already checked the user may see it)."""
    led = ledger_for(request)
    out = insight_of(led, int(inv["id"]))
    out["table"] = table_for(led.engine, int(inv["tenant_id"]))
    return out


def _dashboard_rows(engine: Any, user: Any) -> list[tuple[str, str, Any]]:
    from sqlalchemy import func, select

    from fapiao.insight.tables import verifications as vt

    with engine.connect() as conn:
        q = select(vt.c.result, func.count(func.distinct(vt.c.invoice_id))).group_by(vt.c.result)
        if user.tenants is not None:
            q = q.where(vt.c.tenant_id.in_(sorted(user.tenants) or [-1]))
        counts = dict(conn.execute(q).all())
    return [
        ("查验一致", "verified", counts.get("match", 0)),
        ("查无此票", "not found", counts.get("not_found", 0)),
        ("查验不符", "differs", counts.get("mismatch", 0)),
    ]


def install(app: FastAPI) -> None:
    """The dashboard's 查验 panel and the template helper showing it (routes and nav are declared)."""
    nav.add_panel(
        nav.Panel("insight_verify", "查验", "查验 (verification)", _dashboard_rows, order=60)
    )
    app.state.templates.env.globals["insight_panel"] = panel_data
