"""Calls to the tax platform, counted and timed: an httpx transport the connector sends through.

Each call adds to `fapiao_authority_calls` and `fapiao_authority_call_seconds` by endpoint (ids
folded into `{id}`, so the label values stay few) and outcome, writes an `authority.call` line to
the operation log, and carries the current request id so the platform's logs can be joined to ours.
"""

from __future__ import annotations

import re
import time

import httpx

from fapiao.telemetry import logs
from fapiao.telemetry.counters import AUTHORITY_CALLS, AUTHORITY_SECONDS

_NUMBERISH = re.compile(r"^[0-9A-Za-z-]*\d[0-9A-Za-z-]*$")


def endpoint_of(path: str) -> str:
    """/api/v1/invoices/2411… -> /api/v1/invoices/{id}: bounded label values."""
    parts = [("{id}" if _NUMBERISH.match(p) and p not in ("v1",) else p) for p in path.split("/")]
    return "/".join(parts)[:80]


class MeteredTransport(httpx.BaseTransport):
    """An httpx transport that counts and times each call and sends the current request id."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        rid = logs.current("request_id")
        if rid and "x-request-id" not in request.headers:
            request.headers["X-Request-ID"] = rid
        endpoint = endpoint_of(request.url.path)
        started = time.perf_counter()
        outcome = "ok"
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException:
            outcome = "timeout"
            raise
        except httpx.TransportError:
            outcome = "unreachable"
            raise
        finally:
            if outcome != "ok":
                self._count(request, endpoint, outcome, started, None)
        code = response.status_code
        outcome = (
            "ok"
            if code < 400
            else "rate_limited"
            if code == 429
            else "rejected"
            if code < 500
            else "server_error"
        )
        self._count(request, endpoint, outcome, started, code)
        return response

    @staticmethod
    def _count(
        request: httpx.Request, endpoint: str, outcome: str, started: float, code: int | None
    ) -> None:
        seconds = time.perf_counter() - started
        AUTHORITY_CALLS.labels(endpoint, outcome).inc()
        AUTHORITY_SECONDS.labels(endpoint, outcome).observe(seconds)
        if logs.enabled():
            logs.logger().info(
                "authority.call",
                method=request.method,
                endpoint=endpoint,
                status=code,
                outcome=outcome,
                duration_ms=round(seconds * 1000, 2),
                idempotency_key=request.headers.get("idempotency-key", ""),
            )

    def close(self) -> None:
        self.inner.close()


def metered_transport() -> MeteredTransport:
    return MeteredTransport()
