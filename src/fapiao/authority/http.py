"""The HTTP connector: the sandbox protocol over httpx, the shape a service-provider adapter follows.

Every call has a timeout; transport failures and status codes become the errors of `errors.py`, so
the outbox can tell "try again with the same key" from "this will never be accepted".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx

from fapiao.authority import errors
from fapiao.authority.connector import Operation, Receipt, VerifyResult
from fapiao.authority.records import RecordError, record_from_json
from fapiao.codec import invoice_to_json
from fapiao.model import AuthorityRecord, Identity, Invoice
from fapiao.money import format_fen
from fapiao.telemetry.transport import metered_transport


def _reason(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        err = body.get("error", {}) if isinstance(body, dict) else {}
        return f"{resp.status_code} {err.get('code', '')}: {err.get('message', '')}".strip()
    except ValueError:
        return f"{resp.status_code} {resp.text[:200]}"


def raise_for(resp: httpx.Response) -> None:
    """Map an HTTP answer that is not a success to the error family."""
    status = resp.status_code
    if status < 400:
        return
    reason = _reason(resp)
    if status == 429:
        try:
            after = float(resp.headers.get("Retry-After", "1"))
        except ValueError:
            after = 1.0
        raise errors.RateLimited(reason, retry_after=after)
    if status in (502, 503):
        raise errors.Unavailable(reason, status=status)
    if status in (408, 504):
        raise errors.TimedOut(reason, status=status)
    if status >= 500:
        raise errors.ServerError(reason, status=status)
    if status == 409:
        raise errors.Conflict(reason, status=status)
    raise errors.Invalid(reason, status=status)


def _receipt(body: Any, *, replayed: bool = False) -> Receipt:
    if not isinstance(body, dict) or not body.get("number"):
        raise errors.ServerError(f"unreadable receipt: {str(body)[:200]}")
    return Receipt(
        outcome="replayed" if replayed else str(body.get("outcome", "created")),
        number=str(body["number"]),
        code=str(body.get("code") or ""),
        received_at=str(body.get("received_at") or ""),
    )


class HttpConnector:
    """Speaks to `base_url` (e.g. http://127.0.0.1:8400). Close it, or use it as a context manager."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 3.0,
        page_size: int = 1000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self._client = httpx.Client(
            base_url=self.base_url + "/api/v1",
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={"User-Agent": "fapiao-sync"},
            transport=metered_transport(),  # metrics, operation log, request id
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise errors.TimedOut(f"timeout: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:  # refused, reset, DNS …
            raise errors.Unavailable(f"unreachable: {type(exc).__name__}: {exc}") from exc

    # --- the protocol ---------------------------------------------------------------------------

    def health(self) -> bool:
        resp = self._call("GET", "/health")
        raise_for(resp)
        return True

    def upload(self, invoice: Invoice, idempotency_key: str) -> Receipt:
        return self._write("/invoices", invoice, idempotency_key)

    def issue(self, draft: Invoice, idempotency_key: str) -> Receipt:
        return self._write("/invoices/issue", draft, idempotency_key)

    def _write(self, path: str, inv: Invoice, key: str) -> Receipt:
        resp = self._call("POST", path, json=invoice_to_json(inv), headers={"Idempotency-Key": key})
        raise_for(resp)
        return _receipt(resp.json(), replayed=resp.headers.get("Idempotent-Replayed") == "true")

    def send_batch(self, ops: list[Operation]) -> list[Receipt | Exception]:
        """Many uploads/issues in one request (protocol extension); one result per operation.

        A failure of the whole request raises; a per-item refusal is returned as its error.
        """
        body = {
            "items": [
                {
                    "op": o.op,
                    "idempotency_key": o.idempotency_key,
                    "invoice": o.as_json(),
                }
                for o in ops
            ]
        }
        resp = self._call("POST", "/invoices/batch", json=body)
        raise_for(resp)
        results = resp.json().get("results")
        if not isinstance(results, list) or len(results) != len(ops):
            raise errors.ServerError("batch answer does not match the request")
        out: list[Receipt | Exception] = []
        for item in results:
            status = int(item.get("status", 500))
            try:
                if status >= 400:
                    raise_for(httpx.Response(status, json=item.get("body")))
                out.append(_receipt(item.get("body"), replayed=bool(item.get("replayed"))))
            except errors.AuthorityError as exc:
                out.append(exc)
        return out

    def list(self, tax_id: str, date_from: dt.date, date_to: dt.date) -> Iterator[AuthorityRecord]:
        cursor: str | None = None
        while True:
            params = {
                "tax_id": tax_id,
                "from": date_from.isoformat(),
                "to": date_to.isoformat(),
                "limit": str(self.page_size),
            }
            if cursor:
                params["cursor"] = cursor
            resp = self._call("GET", "/invoices", params=params)
            raise_for(resp)
            body = resp.json()
            for item in body.get("items", []):
                yield self._record(item)
            cursor = body.get("next_cursor")
            if not cursor:
                return

    def lookup(self, identities: list[Identity]) -> dict[str, AuthorityRecord]:
        """A batched get (protocol extension): identity key -> record, for those present."""
        out: dict[str, AuthorityRecord] = {}
        for start in range(0, len(identities), 2000):
            keys = [i.key for i in identities[start : start + 2000]]
            resp = self._call("POST", "/invoices/lookup", json={"keys": keys})
            raise_for(resp)
            for item in resp.json().get("items", []):
                rec = self._record(item)
                out[rec.identity.key] = rec
        return out

    def get(self, identity: Identity) -> AuthorityRecord | None:
        resp = self._call("GET", f"/invoices/{identity.key}")
        if resp.status_code == 404:
            return None
        raise_for(resp)
        return self._record(resp.json())

    def verify(
        self,
        identity: Identity,
        issue_date: dt.date,
        *,
        amount: int | None = None,
        total: int | None = None,
        check_code: str = "",
    ) -> VerifyResult:
        body: dict[str, Any] = {
            "code": identity.code,
            "number": identity.number,
            "issue_date": issue_date.isoformat(),
            "check_code": check_code,
        }
        if amount is not None:
            body["amount"] = format_fen(amount)
        if total is not None:
            body["total"] = format_fen(total)
        resp = self._call("POST", "/verify", json=body)
        raise_for(resp)
        data = resp.json()
        rec = self._record(data["record"]) if data.get("record") else None
        whole = data.get("invoice")
        return VerifyResult(
            str(data.get("result")),
            rec,
            tuple(data.get("fields") or ()),
            whole if isinstance(whole, dict) else None,
        )

    def export(self, tax_id: str, date_from: dt.date, date_to: dt.date, fmt: str = "xlsx") -> bytes:
        params = {
            "tax_id": tax_id,
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "format": fmt,
        }
        resp = self._call("GET", "/export", params=params)
        raise_for(resp)
        return resp.content

    @staticmethod
    def _record(item: Any) -> AuthorityRecord:
        try:
            return record_from_json(item)
        except RecordError as exc:
            raise errors.ServerError(f"unreadable record: {exc}") from exc
