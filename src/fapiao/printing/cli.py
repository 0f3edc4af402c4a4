"""Printouts: print ID|FILTER --out FILE.pdf."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from fapiao.cli.base import (
    app,
    emit_json,
    err,
    ledger,
    out,
    say_findings,
)
from fapiao.ledger import queries

# --- printouts ----------------------------------------------------------------------------------


@contextmanager
def _font_required() -> Iterator[None]:
    """No CJK font file: the finding says what to install; exit 1, no file written."""
    from fapiao.pdffont import FontMissing

    try:
        yield
    except FontMissing as exc:
        say_findings([exc.finding])
        raise typer.Exit(1) from exc


@app.command("print")
def print_cmd(
    target: Annotated[
        list[str],
        typer.Argument(
            help="一张发票的 id/号码，或筛选条件 key=value / one invoice id or number, or list filters as key=value: period= from= to= direction= kind= status= authority_state= counterparty= q= tenant= sort= order= state="
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="输出 PDF 文件 / the PDF file to write")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """打印发票或发票清单（PDF）。 Print one invoice, or a filtered list with totals, to PDF."""
    from fapiao.ledger.checkpoint import stamp
    from fapiao.ledger.listing import BadQuery, Listing
    from fapiao.printing import invoice_pdf, list_pdf

    if not out_file.parent.is_dir():
        err.print(f"目录不存在 / no such directory: {out_file.parent}")
        raise typer.Exit(2)
    led = ledger()
    names = {r["id"]: r["name"] for r in led.tenant_rows()}
    if len(target) == 1 and "=" not in target[0]:
        found = queries.find_invoice(led.engine, target[0])
        if found is None:
            err.print(f"未找到 / not found: {target[0]}")
            raise typer.Exit(1)
        with _font_required():
            body = invoice_pdf(
                found, tenant_name=names.get(found["tenant_id"]), attestation=stamp(led.engine)
            )
        count, cut = 1, False
    else:
        params: dict[str, str] = {}
        for item in target:
            key, sep, value = item.partition("=")
            if not sep:
                err.print(f"筛选条件应为 key=value / a filter is key=value: {item}")
                raise typer.Exit(2)
            params[key.strip()] = value
        tenant = params.get("tenant", "").strip().upper()
        if tenant and not tenant.isdigit():
            params["tenant"] = str(led.tenants().get(tenant, -1))
        try:  # a printed list shows each invoice's states
            q = Listing.from_params({"include": "all", **params})
        except BadQuery as exc:
            err.print(f"参数错误 / bad filter: {exc}")
            raise typer.Exit(2) from exc
        shown = " ".join(f"{k}={v}" for k, v in params.items())
        if q.tenant is not None:
            shown = f"{names.get(q.tenant, q.tenant)} · {shown}"
        with _font_required():
            body, count, cut = list_pdf(
                queries.stream(led.engine, q), subtitle=shown, attestation=stamp(led.engine)
            )
    tmp = out_file.with_name(out_file.name + ".part")
    tmp.write_bytes(body)
    tmp.replace(out_file)
    if as_json:
        emit_json({"file": str(out_file), "invoices": count, "truncated": cut})
    else:
        out.print(f"已写入 / written: {out_file} ({count} 张 invoices)", highlight=False)
    if cut:
        err.print(f"仅打印前 {count} 张 / only the first {count} printed: narrow the filter")
