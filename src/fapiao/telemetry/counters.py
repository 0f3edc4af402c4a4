"""The counters and histograms of this process, counted where things happen.

Imports and rejects by finding code and parse time by format (counted by `fapiao.ingest`), calls
to the tax platform (`fapiao.telemetry.transport`), web requests and shed load (the web's
middleware). They live in one registry, `REGISTRY`, which `fapiao.ops.metrics` serves at `/metrics`
beside the readings it takes from the ledger at scrape time.
"""

from __future__ import annotations

import bisect
import collections
import contextvars
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

from fapiao.telemetry import logs

REGISTRY = CollectorRegistry(auto_describe=True)

IMPORTS = Counter(
    "fapiao_imports",
    "Import outcomes in this process (imported, duplicate, conflict, rejected)",
    ["outcome"],
    registry=REGISTRY,
)
REJECTS = Counter(
    "fapiao_rejects", "Rejected inputs in this process by finding code", ["code"], registry=REGISTRY
)
PARSE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
PARSE_SECONDS = Histogram(
    "fapiao_parse_seconds",
    "Time to parse one file, by format",
    ["format"],
    registry=REGISTRY,
    buckets=PARSE_BUCKETS,
)
AUTHORITY_CALLS = Counter(
    "fapiao_authority_calls",
    "Calls to the tax platform by endpoint and outcome",
    ["endpoint", "outcome"],
    registry=REGISTRY,
)
AUTHORITY_SECONDS = Histogram(
    "fapiao_authority_call_seconds",
    "Latency of calls to the tax platform (to the response head)",
    ["endpoint", "outcome"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_REQUESTS = Counter(
    "fapiao_http_requests",
    "Web requests served, by method and status class",
    ["method", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "fapiao_http_request_seconds",
    "Web request duration",
    ["method"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SHED = Counter(
    "fapiao_http_shed",
    "Requests answered 503 because the server or its database pool was full",
    ["reason"],
    registry=REGISTRY,
)


@functools.cache
def _imports(status: str) -> Any:
    return IMPORTS.labels(status)  # looking a label up costs more than the rest of this call


def import_outcomes(outcomes: list[Any]) -> dict[str, int]:
    """Called by ingest with each batch's outcomes (imported / duplicate / conflict / rejected):
    the counters, raised once a status (an import of a million invoices raised one a million
    times), and each outcome's `invoice.import` line in the operation log. Returns the counts."""
    statuses = collections.Counter([outcome.status for outcome in outcomes])
    for status, count in statuses.items():
        _imports(status).inc(count)
    if statuses.get("rejected"):
        for outcome in outcomes:
            if outcome.status == "rejected":
                errors = {f.code for f in outcome.findings if str(f.severity) == "error"}
                for code in errors or {"unknown"}:
                    REJECTS.labels(code).inc()
    if logs.enabled():
        for outcome in outcomes:
            logs.logger().info(
                "invoice.import",
                outcome=outcome.status,
                file=outcome.file,
                invoice_id=outcome.id,
                code=outcome.code,
                number=outcome.number,
                findings=[f.code for f in outcome.findings],
            )
    return statuses


# Parse times taken in a child process (an import's parser workers, the server's upload parser):
# that process's histogram is never scraped, so its work is run by `timed_in_child`, which tallies
# them (a count per bucket, `PARSE_BUCKETS` then +Inf, and the sum, by format) and hands them back
# with the results; the parent adds them to its own histogram (`add_child_times`).
ParseTimes = dict[str, list[float]]
_kept: contextvars.ContextVar[ParseTimes | None] = contextvars.ContextVar(
    "parse_times", default=None
)
T = TypeVar("T")


class Timed(list[T]):
    """A child's results, with the parse times it tallied while making them."""

    parse_times: ParseTimes | None = None


@functools.cache
def _parse_timer(name: str) -> Any:
    return PARSE_SECONDS.labels(name)  # looking a label up costs more than parsing a small file


def observe_parse(name: str, seconds: float) -> None:
    """One file's parse time, by the format it was read as."""
    kept = _kept.get()
    if kept is None:
        _parse_timer(name).observe(seconds)
        return
    tally = kept.get(name)
    if tally is None:
        tally = kept[name] = [0.0] * (len(PARSE_BUCKETS) + 2)
    tally[bisect.bisect_left(PARSE_BUCKETS, seconds)] += 1  # `le` buckets: bound >= seconds
    tally[-1] += seconds


def timed_in_child(results: Callable[[], Iterable[T]]) -> Timed[T]:
    """`results()` drawn in full, the parse times observed meanwhile tallied rather than observed
    in this (child) process: the parent passes what it gets to `add_child_times`."""
    kept: ParseTimes = {}
    token = _kept.set(kept)
    try:
        out = Timed(results())
    finally:
        _kept.reset(token)
    out.parse_times = kept
    return out


def add_child_times(results: object) -> None:
    """Adds the tallies a child's results carry (`timed_in_child`; none on anything else) to this
    process's histogram, as if each file had been observed here (the histogram's own per-bucket
    values: a million files cost a few calls a chunk)."""
    for name, tally in (getattr(results, "parse_times", None) or {}).items():
        timer = _parse_timer(name)
        for bucket, count in zip(timer._buckets, tally[:-1], strict=True):
            if count:
                bucket.inc(count)
        timer._sum.inc(tally[-1])
