"""The daily jobs `serve` runs: a daemon thread that runs every check once at start-up (after
`FAPIAO_CHECK_FIRST_DELAY_S`, default 60 s) and then every `FAPIAO_CHECK_EVERY_H` hours (default 24),
keeps each run in the history, and signs a checkpoint of the audit chain (so that a cut of the chain
is found against yesterday's head at the latest). The checkpoint is raised as the event
`audit.checkpoint`, so a rule can send it to a mailbox or webhook the ledger's insiders cannot reach;
the message carries the checkpoint's JSON whole. A run that fails is logged, never fatal."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from fapiao import plugins
from fapiao.telemetry import logs


def run_once(db: str | Path | None, *, source: str = "daily") -> str:
    from fapiao.ledger.store import Ledger
    from fapiao.ops.checks import run_checks
    from fapiao.ops.history import record_run
    from fapiao.ops.probe import make_probe

    probe = make_probe(db)
    try:
        report = run_checks(probe)
        if probe.engine is not None and probe.db_ok:
            try:
                record_run(Ledger(probe.engine, actor="ops"), report, source=source)
            except Exception as exc:
                logs.logger().error(
                    "check.not_recorded", error=f"{type(exc).__name__}: {exc}"[:300]
                )
        if probe.engine is not None and probe.db_ok:
            _checkpoint(probe.engine)
        failed = [c.name for c in report.checks if c.level == "fail"]
        if failed and probe.engine is not None and probe.db_ok:
            plugins.notify(probe.engine, "check.failed", None, failed=failed, source=source)
        log = logs.logger().warning if failed else logs.logger().info
        log(
            "check.run",
            source=source,
            level=report.level,
            failed=failed,
            duration_ms=report.duration_ms,
        )
        return report.level
    finally:
        if probe.engine is not None:
            probe.engine.dispose()


def _checkpoint(engine: object) -> None:
    try:
        sign_and_send(engine)
    except Exception as exc:  # no key folder, a read-only disk: logged, the server goes on
        logs.logger().error("audit.checkpoint_failed", error=f"{type(exc).__name__}: {exc}"[:300])


def sign_and_send(engine: object, actor: str = "ops") -> dict[str, Any]:
    """Sign a checkpoint of the chain as it stands and raise `audit.checkpoint` with it."""
    from fapiao.ledger import checkpoint
    from fapiao.ledger.store import Ledger

    doc = checkpoint.create(Ledger(engine, actor=actor))  # type: ignore[arg-type]
    logs.logger().info("audit.checkpoint", seq=doc["seq"], head=doc["head"])
    plugins.notify(engine, "audit.checkpoint", None, **checkpoint_facts(doc))  # type: ignore[arg-type]
    return doc


def checkpoint_facts(doc: dict[str, Any]) -> dict[str, Any]:
    """What the `audit.checkpoint` message shows, and the checkpoint itself as one JSON line."""
    from fapiao.proof import key_id

    return {
        "tree_size": doc["seq"],
        "root": doc["root"],
        "head": doc["head"],
        "key_id": key_id(doc["public_key"]),
        "time": doc["time"],
        "checkpoint_json": json.dumps(doc, ensure_ascii=False, sort_keys=True),
    }


def start(db: str | Path | None) -> threading.Event:
    """Starts the thread; set the returned event to stop it."""
    stop = threading.Event()
    first = float(os.environ.get("FAPIAO_CHECK_FIRST_DELAY_S", "60"))
    every = float(os.environ.get("FAPIAO_CHECK_EVERY_H", "24")) * 3600

    def loop() -> None:
        wait = first
        while not stop.wait(wait):
            try:
                run_once(db)
            except Exception as exc:  # the self-check must never take the server down
                logs.logger().error("check.crashed", error=f"{type(exc).__name__}: {exc}"[:300])
            wait = every

    threading.Thread(target=loop, name="fapiao-daily-check", daemon=True).start()
    return stop
