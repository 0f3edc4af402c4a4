"""The web app on the command line: `serve` (pages, the REST API, and the outbox worker when an
authority is set)."""

from __future__ import annotations

from typing import Annotated

import typer

from fapiao.cli.base import State, app, out
from fapiao.ledger.db import open_engine
from fapiao.telemetry import logs as oplog


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="监听地址 / interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口 / TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="工作进程数 / worker processes")] = 1,
    authority: Annotated[
        str | None,
        typer.Option(
            "--authority",
            help="税务平台地址：在服务内运行上传队列（默认 $FAPIAO_AUTHORITY）/ platform URL: run the outbox worker inside the server (default: $FAPIAO_AUTHORITY)",
        ),
    ] = None,
) -> None:
    """启动网页与 API（设置税务平台时同时运行同步）。
    Run the web app and the REST API (and the outbox worker when an authority is set)."""
    import os

    import uvicorn

    from fapiao.ledger.db import to_url

    os.environ["FAPIAO_DB"] = to_url(State.db)
    open_engine(State.db).dispose()  # migrate once, before the workers start
    from fapiao.ops import daily

    oplog.configure(default_level="info", force=True)
    daily.start(State.db)  # the self-check, once a day, kept in the history
    from fapiao.plugins import hook

    hook().serve_started(db=State.db)  # each capability's own threads: deliveries, schedules
    authority_url = authority or os.environ.get("FAPIAO_AUTHORITY")
    if authority_url:
        from fapiao.sync import background

        background.start(State.db, authority_url)  # one worker thread, whatever --workers says
        out.print(f"同步 sync → {authority_url}")
    out.print(
        f"fapiao 网页 web: http://{host}:{port}/  (API: /api/v1, OpenAPI: /api/v1/openapi.json)"
    )
    # the client address (login limits, the audit chain) comes from X-Forwarded-For only when the
    # peer is a configured proxy; none by default, loopback included
    proxies = os.environ.get("FAPIAO_TRUSTED_PROXIES", "").strip()
    uvicorn.run(
        "fapiao.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        # a SIGTERM waits this long for requests in flight, then cancels them (jobs are called off)
        timeout_graceful_shutdown=int(os.environ.get("FAPIAO_WEB_SHUTDOWN_S", "5")),
    )
