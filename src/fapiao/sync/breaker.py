"""The circuit breaker: offline mode after repeated failures, closed again by a probe.

closed --(threshold transient failures in a row)--> open --(cooldown)--> half_open (one probe)
half_open --probe ok--> closed;  half_open --probe fails--> open (cooldown doubles, up to a cap).
While open nothing is sent: work keeps being recorded and queued locally. Each change of state is
stored in `sync_state` (visible to `fapiao sync --status` and other processes) with an event.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, select

from fapiao import plugins
from fapiao.ledger.store import Ledger
from fapiao.sync.tables import sync_state

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(slots=True)
class BreakerState:
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probe_at: float = 0.0
    cooldown_s: float = 0.0
    reason: str = ""
    changed_at: float = 0.0


class Breaker:
    def __init__(
        self,
        ledger: Ledger,
        *,
        threshold: int = 5,
        cooldown_s: float = 1.0,
        cooldown_cap_s: float = 30.0,
        clock: Any = time.time,
    ) -> None:
        self.ledger = ledger
        self.threshold = threshold
        self.cooldown_base = cooldown_s
        self.cooldown_cap = cooldown_cap_s
        self.clock = clock
        self.s = load(ledger)
        self._lock = threading.RLock()  # the send and read-back threads share one breaker
        if self.s.state == HALF_OPEN:  # a probe was in flight when its worker died
            self.s.state = OPEN

    @property
    def is_open(self) -> bool:
        return self.s.state != CLOSED

    def probe_due(self) -> bool:
        return self.s.state == OPEN and self.clock() >= self.s.probe_at

    def success(self) -> None:
        with self._lock:
            self._success()

    def _success(self) -> None:
        if self.s.state != CLOSED:
            outage = round(self.clock() - self.s.opened_at)
            self.s = BreakerState(state=CLOSED, changed_at=self.clock())
            self._save("sync.breaker_closed", outage=outage)
        else:
            self.s.failures = 0

    def failure(self, reason: str) -> None:
        with self._lock:
            self._failure(reason)

    def _failure(self, reason: str) -> None:
        now = self.clock()
        self.s.failures += 1
        self.s.reason = reason[:300]
        if self.s.state == CLOSED and self.s.failures < self.threshold:
            return
        cooldown = (
            min(self.cooldown_cap, max(self.cooldown_base, self.s.cooldown_s * 2))
            if self.s.state != CLOSED
            else self.cooldown_base
        )
        was_closed = self.s.state == CLOSED
        self.s.state, self.s.cooldown_s = OPEN, cooldown
        self.s.probe_at = now + cooldown
        if was_closed:
            self.s.opened_at = now
        self.s.changed_at = now
        self._save("sync.breaker_opened" if was_closed else "sync.probe_failed")

    def _save(self, action: str, **facts: Any) -> None:
        value = json.dumps(asdict(self.s))
        with self.ledger.write() as tx:
            tx.conn.execute(delete(sync_state).where(sync_state.c.name == "breaker"))
            tx.insert(sync_state, [{"name": "breaker", "value": value, "updated_at": tx.now}])
            tx.event(action, "sync", "breaker", asdict(self.s))
            from fapiao.contingency.incidents import on_breaker

            on_breaker(tx, action, asdict(self.s))  # an outage opens and closes an incident
        told = {
            "sync.breaker_opened": "sync.breaker_open",
            "sync.breaker_closed": "sync.breaker_closed",
        }
        if action in told:  # after the commit, so a slow notification never holds the ledger lock
            plugins.notify(
                self.ledger.engine,
                told[action],
                None,
                failures=self.s.failures,
                reason=self.s.reason,
                **facts,
            )


def load(ledger: Ledger) -> BreakerState:
    with ledger.engine.connect() as conn:
        raw = conn.scalar(select(sync_state.c.value).where(sync_state.c.name == "breaker"))
    if not raw:
        return BreakerState()
    try:
        return BreakerState(**json.loads(raw))
    except (TypeError, ValueError):
        return BreakerState()
