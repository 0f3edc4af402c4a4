"""The sandbox's fault plan: what goes wrong, when, deterministic under a seed.

A plan is JSON (DESIGN.md "Sandbox HTTP protocol"); every key is optional and `{}` means no faults.
Times are seconds from the moment the plan is set. Decisions come from one seeded generator in the
order requests arrive, so the same plan and the same request sequence give the same faults.

Keys: seed, error_rate (5xx before anything is stored), timeout_rate (the request is applied, then
the answer is held back for `timeout_hold_s`: the client times out not knowing), latency_ms [lo, hi],
rate_limit_per_s (429 beyond it), drop_after_ack_rate (201, nothing kept), visibility_delay_s (stored,
not listed nor found for that long), outages [{start_s, end_s}] (503 inside the window).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

KEYS = (
    "seed",
    "error_rate",
    "timeout_rate",
    "timeout_hold_s",
    "latency_ms",
    "rate_limit_per_s",
    "drop_after_ack_rate",
    "visibility_delay_s",
    "outages",
)


class PlanError(ValueError):
    """A fault plan that cannot be used; the message names the key."""


def _rate(data: dict[str, Any], key: str) -> float:
    value = data.get(key, 0)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise PlanError(f"{key} must be a number between 0 and 1")
    return float(value)


def _seconds(data: dict[str, Any], key: str, default: float = 0.0) -> float:
    value = data.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise PlanError(f"{key} must be a non-negative number")
    return float(value)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    seed: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_hold_s: float = 30.0
    latency_ms: tuple[int, int] = (0, 0)
    rate_limit_per_s: float = 0.0
    drop_after_ack_rate: float = 0.0
    visibility_delay_s: float = 0.0
    outages: tuple[tuple[float, float], ...] = field(default_factory=tuple)

    @classmethod
    def from_json(cls, data: Any) -> FaultPlan:
        if not isinstance(data, dict):
            raise PlanError("a fault plan is a JSON object")
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise PlanError(f"unknown keys: {', '.join(unknown)}")
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise PlanError("seed must be an integer")
        lat = data.get("latency_ms", [0, 0])
        if isinstance(lat, int | float) and not isinstance(lat, bool):
            lat = [lat, lat]
        if (
            not isinstance(lat, list | tuple)
            or len(lat) != 2
            or not all(isinstance(x, int | float) and x >= 0 for x in lat)
            or lat[0] > lat[1]
        ):
            raise PlanError("latency_ms must be [low, high] milliseconds")
        outages = []
        for w in data.get("outages", []) or []:
            if not isinstance(w, dict):
                raise PlanError("each outage is {start_s, end_s}")
            start, end = _seconds(w, "start_s"), _seconds(w, "end_s")
            if end < start:
                raise PlanError("outage end_s is before start_s")
            outages.append((start, end))
        return cls(
            seed=seed,
            error_rate=_rate(data, "error_rate"),
            timeout_rate=_rate(data, "timeout_rate"),
            timeout_hold_s=_seconds(data, "timeout_hold_s", 30.0),
            latency_ms=(int(lat[0]), int(lat[1])),
            rate_limit_per_s=_seconds(data, "rate_limit_per_s"),
            drop_after_ack_rate=_rate(data, "drop_after_ack_rate"),
            visibility_delay_s=_seconds(data, "visibility_delay_s"),
            outages=tuple(outages),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "error_rate": self.error_rate,
            "timeout_rate": self.timeout_rate,
            "timeout_hold_s": self.timeout_hold_s,
            "latency_ms": list(self.latency_ms),
            "rate_limit_per_s": self.rate_limit_per_s,
            "drop_after_ack_rate": self.drop_after_ack_rate,
            "visibility_delay_s": self.visibility_delay_s,
            "outages": [{"start_s": s, "end_s": e} for s, e in self.outages],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to one request."""

    outage: bool = False
    rate_limited: bool = False
    error: bool = False
    timeout: bool = False
    latency_s: float = 0.0


class Faults:
    """The plan in force, its start time and its generator; safe to share between threads."""

    def __init__(self, plan: FaultPlan | None = None, *, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.set(plan or FaultPlan())

    def set(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self.started = self._clock()
            self._rng = random.Random(plan.seed)
            self._window_start = 0.0
            self._window_count = 0

    def status(self) -> dict[str, Any]:
        with self._lock:
            elapsed = self._clock() - self.started
            return {
                **self.plan.to_json(),
                "elapsed_s": round(elapsed, 3),
                "in_outage": self._in_outage(elapsed),
            }

    def _in_outage(self, elapsed: float) -> bool:
        return any(start <= elapsed < end for start, end in self.plan.outages)

    def decide(self) -> Decision:
        """One request arrives: draw its fate (in arrival order, from the seeded generator)."""
        with self._lock:
            plan, rng = self.plan, self._rng
            now = self._clock()
            if self._in_outage(now - self.started):
                return Decision(outage=True)
            if plan.rate_limit_per_s:
                if now - self._window_start >= 1.0:
                    self._window_start, self._window_count = now, 0
                self._window_count += 1
                if self._window_count > plan.rate_limit_per_s:
                    return Decision(rate_limited=True)
            lo, hi = plan.latency_ms
            latency = rng.uniform(lo, hi) / 1000 if hi else 0.0
            roll = rng.random()
            error = roll < plan.error_rate
            timeout = not error and roll < plan.error_rate + plan.timeout_rate
            return Decision(error=error, timeout=timeout, latency_s=latency)

    def drop(self) -> bool:
        """Drop-after-ack for one stored item."""
        with self._lock:
            rate = self.plan.drop_after_ack_rate
            return bool(rate) and self._rng.random() < rate

    @property
    def visibility_delay_s(self) -> float:
        return self.plan.visibility_delay_s
