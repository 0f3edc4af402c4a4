"""What `fapiao sync --status` (and the web's health page) shows: queue, states, breaker, parked."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine

from fapiao.ledger.store import Ledger
from fapiao.sync import breaker, outbox


def sync_status(engine: Engine) -> dict[str, Any]:
    counts = outbox.counts(engine)
    state = breaker.load(Ledger(engine))
    info = asdict(state)
    if state.state != breaker.CLOSED:
        info["offline_for_s"] = round(time.time() - state.opened_at, 1)
    return {
        "offline": state.state != breaker.CLOSED,
        "breaker": info,
        "counts": counts,
        "drained": counts["outbox_pending"] == 0 and counts["outbox_sent"] == 0,
        "parked": outbox.parked(engine),
    }
