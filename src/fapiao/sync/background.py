"""The outbox worker inside `fapiao serve`: a daemon thread that sends, retries and reads back, so a
running server keeps the authority in step without a separate `fapiao sync` process.

A crash of a round is logged and the worker starts again after a pause: the outbox's leases and
idempotency keys make a restart safe, as they do after a SIGKILL of `fapiao sync`.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fapiao.authority.http import HttpConnector
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.sync.worker import Worker
from fapiao.telemetry import logs

RESTART_AFTER_S = 10.0


def start(db: str | Path | None, authority_url: str) -> threading.Event:
    """Starts the thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        engine = open_engine(db)
        ledger = Ledger(engine, actor="sync")
        try:
            while not stop.is_set():
                try:
                    with HttpConnector(authority_url) as connector:
                        Worker(ledger, connector).run(stop=stop)
                except Exception as exc:  # the worker must never take the server down
                    logs.logger().error("sync.crashed", error=f"{type(exc).__name__}: {exc}"[:300])
                    stop.wait(RESTART_AFTER_S)
        finally:
            engine.dispose()

    threading.Thread(target=loop, name="fapiao-sync", daemon=True).start()
    return stop
