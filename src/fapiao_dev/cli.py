"""Developer commands: `demo` (a throwaway ledger showing the whole flow), `samples` (sample
invoices drawn in every format with their expected JSON), `sandbox` (the simulated tax platform).

Registered on the one Typer app when the `dev` capability's CLI is loaded; names and options are
those the Makefile, the tests and README use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fapiao.cli.base import app, emit_json, err, out


@app.command("demo")
def demo_cmd(
    directory: Annotated[
        Path,
        typer.Option("--dir", help="演示账簿和文件的目录 / where the demo ledger and files go"),
    ] = Path("demo-data"),
    count: Annotated[int, typer.Option(help="发票张数 / how many invoices")] = 300,
) -> None:
    """演示。 Create a SQLite demo ledger with sample invoices and show the result."""
    from fapiao_dev.demo.run import run_demo

    raise typer.Exit(run_demo(directory, count, out, err))


@app.command("samples")
def samples_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录 / output folder")],
    count: Annotated[int, typer.Option("--count", min=1, help="发票张数 / how many invoices")] = 20,
    formats: Annotated[
        str,
        typer.Option(
            "--formats", help="格式，逗号分隔 / formats: xml,ofd,pdf,png (comma-separated)"
        ),
    ] = "xml,ofd,pdf,png",
    seed: Annotated[int, typer.Option("--seed", help="随机种子 / seed")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """生成样例发票及其期望结果。 Generate sample invoices with their expected JSON."""
    from fapiao_dev.samples import FORMATS, generate

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        err.print(
            f"未知格式 / unknown formats: {', '.join(unknown) or '(none)'}; known: {', '.join(FORMATS)}"
        )
        raise typer.Exit(2)
    written = generate(out_dir, count, wanted, seed)
    if as_json:
        emit_json([str(p) for p in written])
    else:
        out.print(f"{len(written)} 个文件 / files → {out_dir}", highlight=False)


@app.command("sandbox")
def sandbox_cmd(
    port: Annotated[
        int, typer.Option(help="端口（0 为自动选择）/ port (0 picks a free port)")
    ] = 8400,
    faults: Annotated[
        Path | None, typer.Option("--faults", help="故障计划 JSON / fault plan JSON")
    ] = None,
    data: Annotated[
        Path, typer.Option("--data", help="沙箱数据目录 / the sandbox's own data dir")
    ] = Path("sandbox-data"),
    host: Annotated[str, typer.Option(help="监听地址 / interface to listen on")] = "127.0.0.1",
) -> None:
    """模拟税务平台。 Run the simulated tax platform (faults on demand)."""
    from fapiao_dev.sandbox.faults import PlanError
    from fapiao_dev.sandbox.run import serve
    from fapiao_dev.sandbox.server import load_plan

    try:
        plan = load_plan(faults)
    except (OSError, ValueError, PlanError) as exc:
        err.print(f"故障计划无效 / bad fault plan {faults}: {exc}")
        raise typer.Exit(2) from exc
    serve(data, plan, host=host, port=port)
