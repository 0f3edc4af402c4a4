"""The sync worker: sends due outbox entries, records the answers, confirms by read-back.

One round: claim due entries (a lease in the database), send them (batched when the connector can),
record each answer in one transaction, then read back what was accepted a moment ago. Safe to
SIGKILL at any moment: an unrecorded answer is asked for again with the same idempotency key (the
platform replays its first answer, so an issued number is recorded once), and a lease held by a dead
process on this host is taken over at once.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from fapiao import plugins
from fapiao.authority import errors
from fapiao.authority.connector import Connector, Operation, Receipt
from fapiao.authority.records import differences
from fapiao.codec import canonical_bytes, invoice_from_json
from fapiao.contingency.pause import not_paused
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger, WriteTx
from fapiao.model import AuthorityRecord, Identity
from fapiao.sync import outbox
from fapiao.sync.breaker import Breaker
from fapiao.sync.outbox import (
    CONFIRMED,
    DONE,
    MISMATCH,
    MISSING,
    PARKED,
    PENDING,
    SENT,
    UPLOADED,
    Change,
    Entry,
)
from fapiao.telemetry import logs as oplog


@dataclass(slots=True)
class Settings:
    batch_size: int = 500  # entries per request (batch endpoint) and per claim
    lease_s: float = 60.0
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 20.0
    breaker_threshold: int = 3
    breaker_cooldown_s: float = 1.0
    breaker_cooldown_cap_s: float = 15.0
    confirm_after_s: float = 0.2  # first read-back this long after the platform accepted
    missing_after_s: float = 5.0  # accepted but still absent after this long: missing, re-send
    idle_s: float = 0.2
    readback_limit: int = 5000


@dataclass(slots=True)
class Stats:
    rounds: int = 0
    sent: int = 0
    accepted: int = 0
    transient: int = 0
    parked: int = 0
    confirmed: int = 0
    missing: int = 0
    mismatch: int = 0
    probes: int = 0
    breaker_opened: int = 0
    started: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__ if k != "started"}  # type: ignore[attr-defined]
        out["elapsed_s"] = round(time.monotonic() - self.started, 3)
        return out


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Worker:
    def __init__(
        self,
        ledger: Ledger,
        connector: Connector,
        settings: Settings | None = None,
        *,
        owner: str | None = None,
        rng: random.Random | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.connector = connector
        self.settings = settings or Settings()
        self.owner = owner or outbox.worker_id()
        self.rng = rng or random.Random()
        self.on_event = on_event or (lambda _kind, _data: None)
        s = self.settings
        self.breaker = Breaker(
            ledger,
            threshold=s.breaker_threshold,
            cooldown_s=s.breaker_cooldown_s,
            cooldown_cap_s=s.breaker_cooldown_cap_s,
        )
        self.stats = Stats()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fapiao-readback")

    # --- the loop -----------------------------------------------------------------------------

    def run(
        self,
        *,
        once: bool = False,
        max_seconds: float | None = None,
        stop: threading.Event | None = None,
    ) -> Stats:
        """Run rounds until stopped; `once`: until drained, or offline, or out of time."""
        try:
            self._loop(once=once, max_seconds=max_seconds, stop=stop)
        finally:
            self.close()
        return self.stats

    def _loop(self, *, once: bool, max_seconds: float | None, stop: threading.Event | None) -> None:
        deadline = time.monotonic() + max_seconds if max_seconds else None
        while not (stop and stop.is_set()):
            if deadline and time.monotonic() > deadline:
                break
            if self.breaker.is_open:
                if once and not self.breaker.probe_due():
                    break
                if not self._probe():
                    self._sleep(stop, self.settings.idle_s)
                    continue
            busy = self.step()
            if once and self.drained():
                break
            if once and self.breaker.is_open:
                break
            if not busy:
                self._sleep(stop, self.settings.idle_s)

    @staticmethod
    def _sleep(stop: threading.Event | None, seconds: float) -> None:
        if stop:
            stop.wait(seconds)
        else:
            time.sleep(seconds)

    def step(self) -> bool:
        """Send and read back side by side: the platform works on one while the ledger records
        the other (both write through the ledger lock, one transaction at a time)."""
        self.stats.rounds += 1
        reading = self._pool.submit(self.readback_round)
        sent = self.send_round()
        return reading.result() or sent

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def drained(self) -> bool:
        ob = outbox.ob
        with self.ledger.engine.connect() as conn:
            left = conn.scalar(
                select(ob.c.id)
                .where(ob.c.state.in_([PENDING, SENT]), not_paused(ob.c.tenant_id))
                .limit(1)
            )  # a paused tenant's entries are held, not waiting
        return left is None

    def _probe(self) -> bool:
        if not self.breaker.probe_due():
            return False
        self.stats.probes += 1
        try:
            health = getattr(self.connector, "health", None)
            if health is not None:
                health()
            else:
                self.connector.get(Identity("", "0" * 20))
        except errors.AuthorityError as exc:
            self.breaker.failure(exc.reason)
            self.on_event("probe_failed", {"reason": exc.reason})
            return False
        self.breaker.success()
        outbox.due_now(self.ledger, time.time())  # what waited out the outage goes now
        self.on_event("breaker_closed", {})
        return True

    # --- sending ------------------------------------------------------------------------------

    def send_round(self) -> bool:
        if self.breaker.is_open:
            return False
        s = self.settings
        entries = outbox.claim(
            self.ledger, self.owner, limit=s.batch_size, lease_s=s.lease_s, now=time.time()
        )
        if not entries:
            return False
        oplog.start_job("outbox.send", entries=[e.id for e in entries[:20]], count=len(entries))
        for chunk in _chunks(entries, s.batch_size):
            if self.breaker.is_open:
                self._release(chunk)
                continue
            self._record(chunk, self._send(chunk))
        return True

    def _send(self, chunk: list[Entry]) -> list[Receipt | Exception]:
        batch = getattr(self.connector, "send_batch", None)
        ops: list[Operation | None] = []
        for e in chunk:
            doc = json.loads(e.doc)
            op = "issue" if e.op == "issue" and not e.number else "upload"
            inv = None if batch is not None else invoice_from_json(doc)[0]
            ops.append(Operation(op, inv, e.idem_key, doc) if batch or inv else None)
        good = [o for o in ops if o is not None]
        self.stats.sent += len(good)
        try:
            answers: list[Receipt | Exception] = (
                batch(good) if batch is not None and good else self._send_each(good)
            )
        except errors.Transient as exc:
            self._failed(exc)
            answers = [exc] * len(good)
        except errors.Rejected as exc:
            answers = [exc] * len(good)
        if any(isinstance(a, Receipt) for a in answers):
            self.breaker.success()
        it = iter(answers)
        unreadable = errors.Invalid("本地记录无法读取 / the ledger's copy cannot be read")
        return [next(it) if o is not None else unreadable for o in ops]

    def _send_each(self, ops: list[Operation]) -> list[Receipt | Exception]:
        out: list[Receipt | Exception] = []
        for n, op in enumerate(ops):
            try:
                assert op.invoice is not None
                send = self.connector.issue if op.op == "issue" else self.connector.upload
                out.append(send(op.invoice, op.idempotency_key))
            except errors.Transient as exc:
                self._failed(exc)
                out.extend([exc] * (len(ops) - n))  # the platform is struggling: stop here
                break
            except errors.Rejected as exc:
                out.append(exc)
        return out

    def _failed(self, exc: errors.AuthorityError) -> None:
        self.stats.transient += 1
        if isinstance(exc, errors.RateLimited):
            return  # flow control, not a failure of the platform
        was_open = self.breaker.is_open
        self.breaker.failure(exc.reason)
        if self.breaker.is_open and not was_open:
            self.stats.breaker_opened += 1
            self.on_event("breaker_opened", {"reason": exc.reason})

    def _backoff(self, attempts: int, exc: Exception) -> float:
        s = self.settings
        delay = min(s.backoff_cap_s, s.backoff_base_s * 2 ** max(0, attempts - 1))
        delay *= self.rng.uniform(0.5, 1.0)
        if isinstance(exc, errors.RateLimited):
            delay = max(delay, exc.retry_after)
        return delay

    def _release(self, chunk: list[Entry]) -> None:
        with self.ledger.write() as tx:
            mine = outbox.still_owned(tx, [e.id for e in chunk], self.owner)
            outbox.update_entries(
                tx,
                "outbox.released",
                [
                    {"_id": e.id, "lease_owner": "", "lease_until": 0.0}
                    for e in chunk
                    if e.id in mine
                ],
            )

    def _record(self, chunk: list[Entry], answers: list[Receipt | Exception]) -> None:
        now = time.time()
        with self.ledger.write() as tx:
            mine = outbox.still_owned(tx, [e.id for e in chunk], self.owner)
            taken = self._numbers_taken(tx, chunk, answers)
            updates: list[dict[str, Any]] = []
            changes: list[Change] = []
            for e, a in zip(chunk, answers, strict=True):
                if e.id not in mine:
                    continue  # the lease went to another worker meanwhile; it records instead
                base = {
                    "_id": e.id,
                    "attempts": e.attempts + 1,
                    "lease_owner": "",
                    "lease_until": 0.0,
                }
                if isinstance(a, Receipt):
                    if e.op == "issue" and not e.number and (e.tenant_id, a.number) in taken:
                        reason = (
                            f"平台赋号 {a.number} 在账簿中已存在 / number already in the ledger"
                        )
                        updates.append({**base, "state": PARKED, "last_error": reason})
                        self.stats.parked += 1
                        continue
                    self.stats.accepted += 1
                    updates.append({**base, "state": SENT, "sent_at": now, "last_error": ""})
                    changes.append(self._accepted(e, a))
                elif isinstance(a, errors.Rejected):
                    self.stats.parked += 1
                    updates.append({**base, "state": PARKED, "last_error": a.reason[:2000]})
                    if isinstance(a, errors.Conflict):
                        changes.append(
                            Change(
                                e.invoice_id, {"authority_state": MISMATCH}, {"reason": a.reason}
                            )
                        )
                else:
                    reason = a.reason if isinstance(a, errors.AuthorityError) else repr(a)
                    updates.append(
                        {
                            **base,
                            "next_at": now + self._backoff(e.attempts + 1, a),
                            "last_error": reason[:2000],
                        }
                    )
            outbox.update_entries(tx, "outbox.answered", updates)
            outbox.change_invoices(tx, changes)
        parked = {u["_id"]: u["last_error"] for u in updates if u.get("state") == PARKED}
        for tenant_id in sorted({e.tenant_id for e in chunk if e.id in parked}):  # people must act
            ids = [e.id for e in chunk if e.id in parked and e.tenant_id == tenant_id]
            plugins.notify(
                self.ledger.engine,
                "sync.parked",
                tenant_id,
                count=len(ids),
                reason=parked[ids[0]][:200],
            )

    @staticmethod
    def _numbers_taken(
        tx: WriteTx, chunk: list[Entry], answers: list[Receipt | Exception]
    ) -> set[tuple[int, str]]:
        wanted = [
            a.number
            for e, a in zip(chunk, answers, strict=True)
            if isinstance(a, Receipt) and e.op == "issue" and not e.number
        ]
        if not wanted:
            return set()
        inv = schema.invoices
        rows = tx.conn.execute(
            select(inv.c.tenant_id, inv.c.identity_key).where(inv.c.identity_key.in_(wanted))
        )
        return {(r.tenant_id, r.identity_key) for r in rows}

    @staticmethod
    def _accepted(e: Entry, receipt: Receipt) -> Change:
        note = {"entry": e.id, "op": e.op, "outcome": receipt.outcome, "number": receipt.number}
        if e.op != "issue" or e.number:
            return Change(e.invoice_id, {"authority_state": UPLOADED}, note)
        doc = json.loads(e.doc)
        doc["number"], doc["code"] = receipt.number, receipt.code
        data = canonical_bytes(doc)
        values = {
            "authority_state": UPLOADED,
            "number": receipt.number,
            "code": receipt.code,
            "identity_key": Identity(receipt.code, receipt.number).key,
            "doc": data.decode(),
            "content_hash": hashlib.sha256(data).hexdigest(),
        }
        return Change(e.invoice_id, values, {**note, "issued": True})

    # --- read-back ----------------------------------------------------------------------------

    def readback_round(self) -> bool:
        if self.breaker.is_open:
            return False
        s = self.settings
        now = time.time()
        due = outbox.awaiting_readback(
            self.ledger.engine, before=now - s.confirm_after_s, limit=s.readback_limit
        )
        if not due:
            return False
        try:
            found = self._lookup(due)
        except errors.Transient as exc:
            self._failed(exc)
            return False
        self.breaker.success()
        return self._apply_readback(due, found, time.time())

    def _lookup(self, due: list[Entry]) -> dict[str, AuthorityRecord]:
        idents = [Identity.from_key(e.identity_key) for e in due]
        batch = getattr(self.connector, "lookup", None)
        if batch is not None:
            found: dict[str, AuthorityRecord] = batch(idents)
            return found
        if len(due) <= 20:
            out = {}
            for ident in idents:
                rec = self.connector.get(ident)
                if rec is not None:
                    out[ident.key] = rec
            return out
        by_tenant: dict[str, list[Entry]] = {}
        for e in due:
            by_tenant.setdefault(e.tenant_tax_id, []).append(e)
        out = {}
        wanted = {e.identity_key for e in due}
        for tax_id, group in by_tenant.items():
            days = [e.issue_date for e in group]
            for rec in self.connector.list(tax_id, min(days), max(days)):
                if rec.identity.key in wanted:
                    out[rec.identity.key] = rec
        return out

    def _apply_readback(
        self, due: list[Entry], found: dict[str, AuthorityRecord], now: float
    ) -> bool:
        s = self.settings
        changed = False
        with self.ledger.write() as tx:
            live = outbox.still_sent(tx, [e.id for e in due])
            updates: list[dict[str, Any]] = []
            changes: list[Change] = []
            for e in due:
                if e.id not in live:
                    continue
                rec = found.get(e.identity_key)
                if rec is not None:
                    diffs = differences(json.loads(e.doc), rec)
                    if diffs:
                        self.stats.mismatch += 1
                        reason = "平台记录不一致 / differs at the authority: " + ", ".join(diffs)
                        updates.append({"_id": e.id, "state": DONE, "last_error": reason})
                        changes.append(
                            Change(e.invoice_id, {"authority_state": MISMATCH}, {"fields": diffs})
                        )
                    else:
                        self.stats.confirmed += 1
                        updates.append({"_id": e.id, "state": DONE, "last_error": ""})
                        changes.append(
                            Change(e.invoice_id, {"authority_state": CONFIRMED}, {"entry": e.id})
                        )
                elif now - e.sent_at >= s.missing_after_s:
                    self.stats.missing += 1
                    updates.append(
                        {
                            "_id": e.id,
                            "state": PENDING,
                            "op": "upload",
                            "generation": e.generation + 1,
                            "idem_key": outbox.new_key("upload"),
                            "next_at": now,
                            "last_error": "已受理但平台查无此票 / accepted but absent at the authority",
                        }
                    )
                    changes.append(
                        Change(
                            e.invoice_id,
                            {"authority_state": MISSING},
                            {"entry": e.id, "accepted_at": e.sent_at},
                        )
                    )
            if updates:
                changed = True
                outbox.update_entries(tx, "outbox.read_back", updates)
                outbox.change_invoices(tx, changes)
        return changed
