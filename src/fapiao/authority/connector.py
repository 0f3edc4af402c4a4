"""The connector protocol: how fapiao talks to a tax platform, and nothing else does.

`upload` sends a numbered invoice, `issue` a draft the platform numbers; both carry an idempotency key
so that a re-send after a lost answer never creates a second invoice. `list` and `get` read back what
the platform holds (read-back confirmation and reconciliation); `verify` is 查验.
Failures are the exceptions in `errors.py`; a connector never returns half an answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from fapiao.codec import invoice_to_json
from fapiao.model import AuthorityRecord, Identity, Invoice


@dataclass(frozen=True, slots=True)
class Receipt:
    """The platform's answer to an upload or issue.

    `outcome`: `created` (stored now), `exists` (the same invoice was already there) or `replayed`
    (the idempotency key was seen: this is the first answer again). `number` is the assigned 发票号码
    for an issue.
    """

    outcome: str
    number: str
    code: str = ""
    received_at: str = ""


@dataclass(frozen=True, slots=True)
class Operation:
    """One write for `send_batch`: op is `upload` or `issue`. `doc` is the invoice's canonical JSON
    when the caller has it at hand (then `invoice` may be None for a batch connector)."""

    op: str
    invoice: Invoice | None
    idempotency_key: str
    doc: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        if self.doc is not None:
            return self.doc
        assert self.invoice is not None
        return invoice_to_json(self.invoice)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """查验: `result` is `match`, `mismatch` (found, but an input differs) or `not_found`.

    On a match the real service shows the whole invoice (parties, amounts, lines): `invoice` is
    that record as canonical JSON, when the connector's source has it."""

    result: str
    record: AuthorityRecord | None = None
    fields: tuple[str, ...] = field(default_factory=tuple)
    invoice: dict[str, Any] | None = None


@runtime_checkable
class Connector(Protocol):
    def upload(self, invoice: Invoice, idempotency_key: str) -> Receipt: ...

    def issue(self, draft: Invoice, idempotency_key: str) -> Receipt: ...

    def list(self, tax_id: str, date_from: dt.date, date_to: dt.date) -> Iterator[AuthorityRecord]:
        """The platform's records where the taxpayer is seller or buyer, issued in the range."""
        ...

    def get(self, identity: Identity) -> AuthorityRecord | None: ...

    def verify(
        self,
        identity: Identity,
        issue_date: dt.date,
        *,
        amount: int | None = None,
        total: int | None = None,
        check_code: str = "",
    ) -> VerifyResult: ...


def send_each(connector: Connector, ops: list[Operation]) -> list[Receipt | Exception]:
    """`send_batch` for connectors that have none: one request per operation, errors kept per item."""
    results: list[Receipt | Exception] = []
    for op in ops:
        try:
            if op.invoice is None:
                raise ValueError("send_each needs the Invoice, not only its JSON")
            send = connector.issue if op.op == "issue" else connector.upload
            results.append(send(op.invoice, op.idempotency_key))
        except Exception as exc:  # an AuthorityError per item; the caller sorts them
            results.append(exc)
    return results


def verify_record(
    rec: AuthorityRecord | None,
    issue_date: dt.date,
    *,
    amount: int | None = None,
    total: int | None = None,
    check_code: str = "",
    known_check_code: str = "",
) -> VerifyResult:
    """查验 against a record: date plus one of amount (专票), total (数电票) or the check code's last 6.

    `known_check_code` is the platform's 校验码 when the source of the record carries it.
    """
    if rec is None:
        return VerifyResult("not_found")
    wrong: list[str] = []
    if rec.issue_date != issue_date:
        wrong.append("issue_date")
    if amount is not None and rec.amount != amount:
        wrong.append("amount")
    if total is not None and rec.total != total:
        wrong.append("total")
    if check_code and (not known_check_code or known_check_code[-6:] != check_code[-6:]):
        wrong.append("check_code")
    if amount is None and total is None and not check_code:
        wrong.append("amount")
    return VerifyResult("mismatch" if wrong else "match", rec, tuple(wrong))
