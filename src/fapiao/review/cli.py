"""The review queue: `review list|show|accept|reject|verify` — what could not be read or failed a
check, waiting for a person. Exit 0 done, 1 refused (the findings say why), 2 usage error."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from fapiao.cli.base import app, emit_json, err, ledger, out, plain, say_findings
from fapiao.ledger.store import Ledger
from fapiao.vocabulary import REVIEW_STATES, shown, zh

review_app = typer.Typer(
    no_args_is_help=True, help="待复核 / review queue: inputs waiting for a person"
)
app.add_typer(review_app, name="review")

ActorOpt = Annotated[
    str | None,
    typer.Option("--as", help="操作人（默认 $FAPIAO_USER）/ who does it (default: $FAPIAO_USER)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")]
AuthorityOpt = Annotated[
    str | None,
    typer.Option(
        "--authority",
        help="税务平台地址（默认 $FAPIAO_AUTHORITY）/ tax platform URL (default: $FAPIAO_AUTHORITY)",
    ),
]


def _ledger(actor: str | None) -> Ledger:
    """The ledger acting as --as NAME, else as the command line's person (fapiao.auth.actor)."""
    return ledger(as_name=actor)


def _item_or_exit(led: Ledger, item_id: int) -> Any:
    from fapiao.review.queue import get_item

    item = get_item(led.engine, item_id)
    if item is None:
        err.print(f"待复核条目不存在 / no review item {item_id}")
        raise typer.Exit(1)
    return item


@review_app.command("list")
def review_list(
    state: Annotated[
        str, typer.Option(help="状态 / state: open / accepted / rejected / all")
    ] = "open",
    as_json: JsonOpt = False,
) -> None:
    """待复核列表。 Items waiting for review (default: open ones)."""
    from fapiao.review.queue import STATES, list_items

    if state not in (*STATES, "all"):
        err.print(f"--state 可选 / one of: {' / '.join((*STATES, 'all'))}")
        raise typer.Exit(2)
    items = list_items(ledger().engine, state=None if state == "all" else state, limit=100_000)
    if as_json:
        emit_json([i.to_json() for i in items])
        return
    table = Table("id", "状态 state", "文件 file", "已读字段 fields", "问题 findings")
    for i in items:
        codes = ", ".join(sorted({f.code for f in i.findings}))
        table.add_row(
            str(i.id), zh(REVIEW_STATES, i.state), plain(i.file), str(len(i.reads)), codes
        )
    out.print(table)


@review_app.command("show")
def review_show(
    item_id: Annotated[int, typer.Argument(help="复核条目编号 / review item id")],
    as_json: JsonOpt = False,
) -> None:
    """详情。 One item: file, every field (corrected values after accept), findings, history."""
    from fapiao.review.queue import form_paths

    led = ledger()
    item = _item_or_exit(led, item_id)
    if as_json:
        emit_json(item.to_json())
        return
    out.print(f"#{item.id} {plain(item.file)} [{zh(REVIEW_STATES, item.state)}]", highlight=False)
    current = item.current()
    changed = {c["field"]: c for c in item.changes}
    for path in form_paths(current):
        read = current.get(path)
        if read is None:
            continue
        before = changed[path]["from"] if path in changed else None
        mark = f"  ← {before or '—'}" if path in changed else ""
        out.print(f"  {path} = {read.value} [{read.source}]{mark}", markup=False, highlight=False)
    if item.findings:
        out.print("拒收时的问题 / findings when rejected:")
        say_findings(item.findings)
    if item.state != "open":
        out.print(
            f"{item.state} {shown(item.resolved_at)} {item.resolved_by} {item.reason}".rstrip(),
            highlight=False,
        )
        if item.invoice_ids:
            out.print(f"发票 invoices: {', '.join(item.invoice_ids)}", highlight=False)


def _parse_sets(sets: list[str]) -> dict[str, tuple[str, str]]:
    from fapiao.review.queue import known_path

    values: dict[str, tuple[str, str]] = {}
    for raw in sets:
        path, eq, value = raw.partition("=")
        if not eq or not known_path(path.strip()):
            err.print(
                f"--set {raw!r}: 需要 字段=值，如 total=113.00 / FIELD=VALUE with a known field "
                "(number, seller.name, items[1].amount …)"
            )
            raise typer.Exit(2)
        values[path.strip()] = (value, "user")
    return values


@review_app.command("accept")
def review_accept(
    item_id: Annotated[int, typer.Argument(help="复核条目编号 / review item id")],
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="字段=值，可重复 / FIELD=VALUE, e.g. total=113.00 (repeat)"),
    ] = None,
    from_verify: Annotated[
        bool,
        typer.Option(
            "--from-verify", help="先用查验结果补全缺失字段 / fill missing fields from 查验 first"
        ),
    ] = False,
    authority: AuthorityOpt = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """接受入账。 Record the item as an invoice, with corrections; refused while it still fails."""
    from fapiao.review.resolve import accept

    values = _parse_sets(sets or [])
    led = _ledger(actor)
    if from_verify:
        done = _complete(led, item_id, authority)
        if done.findings:
            _refused(item_id, done.findings, as_json)
        values = {p: (v, "authority") for p, v in done.filled.items()} | values
    result = accept(led, item_id, values)
    if as_json:
        emit_json(result.to_json())
    elif result.ok:
        for o in result.outcomes:
            out.print(f"{o.status} {o.code}{'-' if o.code else ''}{o.number} id={o.id}")
        for c in result.changes:
            out.print(f"  {c['field']}: {c['from']!r} → {c['to']!r} ({c['source']})")
    else:
        err.print(f"[red]✗[/] 未接受 / not accepted: #{item_id}")
        say_findings(result.findings)
    raise typer.Exit(0 if result.ok else 1)


def _refused(item_id: int, findings: list[Any], as_json: bool) -> None:
    if as_json:
        emit_json({"id": str(item_id), "ok": False, "findings": [f.to_json() for f in findings]})
    else:
        say_findings(findings)
    raise typer.Exit(1)


def _complete(led: Ledger, item_id: int, authority: str | None) -> Any:
    from fapiao.authority.http import HttpConnector
    from fapiao.insight.cli import _authority_url
    from fapiao.review.complete import from_verify

    item = _item_or_exit(led, item_id)
    with HttpConnector(_authority_url(authority)) as conn:
        return from_verify(led, conn, item)


@review_app.command("verify")
def review_verify(
    item_id: Annotated[int, typer.Argument(help="复核条目编号 / review item id")],
    authority: AuthorityOpt = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """查验 with the fields read; show what the authority's record would fill. 查验补全。"""
    done = _complete(_ledger(actor), item_id, authority)
    if as_json:
        emit_json(done.to_json())
    else:
        out.print(f"查验 {done.result}")
        for path, value in done.filled.items():
            out.print(f"  + {path} = {value}", highlight=False)
        for path, value in done.differs.items():
            out.print(f"  ≠ {path}: 平台 authority {plain(str(value))}", highlight=False)
        say_findings(done.findings)
    raise typer.Exit(1 if done.findings else 0)


@review_app.command("reject")
def review_reject(
    item_id: Annotated[int, typer.Argument(help="复核条目编号 / review item id")],
    reason: Annotated[str, typer.Option("--reason", help="拒收理由 / why")],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """拒收。 Close the item without recording an invoice; the file stays kept."""
    from fapiao.review.resolve import reject

    result = reject(_ledger(actor), item_id, reason)
    if as_json:
        emit_json(result.to_json())
    elif result.ok:
        out.print(f"已拒收 rejected #{item_id}")
    else:
        say_findings(result.findings)
    raise typer.Exit(0 if result.ok else 1)
