"""Delivery: what is due is claimed, sent (`sender.send`) and settled in the outbox; the thread in
`serve`. A send that raises is a failed attempt too: nothing a channel does can stop the deliverer,
and nothing it does reaches the operation that raised the event.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from fapiao.notify import outbox
from fapiao.notify.sender import send
from fapiao.notify.store import NotifyError, channel_url

IDLE_S = 2.0  # how often the thread looks for due messages
PRUNE_EVERY = 1800  # rounds between forgetting old sent messages (an hour)


@dataclass(slots=True)
class Round:
    sent: int = 0
    retrying: int = 0
    parked: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "parked": self.parked,
            "errors": self.errors,
        }


def deliver_due(engine: Engine, *, owner: str | None = None, limit: int = 20) -> Round:
    """Send what is due now, once; what failed waits for its back-off."""
    owner = owner or outbox.owner_id()
    done = Round()
    for item in outbox.claim(engine, owner, limit=limit):
        started, final = time.monotonic(), False
        try:
            error = send(channel_url(engine, item.channel), item.title, item.body)
        except NotifyError as exc:  # the channel was removed after the message was queued
            error, final = exc.en, True
        ms = int((time.monotonic() - started) * 1000)
        state = outbox.settle(engine, item, error=error, duration_ms=ms, final=final)
        if state == outbox.SENT:
            done.sent += 1
        else:
            done.errors.append(f"{item.channel}: {error}")
            if state == outbox.PARKED:
                done.parked += 1
            else:
                done.retrying += 1
    return done


def start(db: str | Path | None) -> threading.Event:
    """The deliverer inside `serve`: a daemon thread; set the returned event to stop it."""
    from fapiao.ledger.db import open_engine
    from fapiao.telemetry import logs

    log = logs.logger()  # the operation log, as `fapiao.telemetry.logs` configures it
    stop = threading.Event()

    def loop() -> None:
        engine = open_engine(db)
        owner = outbox.owner_id()
        try:
            rounds = 0
            while not stop.wait(IDLE_S):
                try:
                    if rounds % PRUNE_EVERY == 0:
                        outbox.prune(engine)
                    rounds += 1
                    done = deliver_due(engine, owner=owner)
                    if done.errors:
                        log.warning("notify.failed", **done.to_json())
                except Exception as exc:  # a broken round must never take the server down
                    log.error("notify.crashed", error=f"{type(exc).__name__}: {exc}")
        finally:
            engine.dispose()

    threading.Thread(target=loop, name="fapiao-notify", daemon=True).start()
    return stop
