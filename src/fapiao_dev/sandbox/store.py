"""The sandbox platform's own storage: one SQLite file, one lock, nothing shared with the ledger.

It numbers drafts (20-digit 数电票 numbers from a persistent counter: a number is never handed out
twice, not even after drop-after-ack or a restart), keeps uploaded invoices by identity, remembers
idempotency keys with their first answer, and hides an invoice from list/get until its `visible_at`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fapiao.authority.records import PLATFORM_STATUS, record_from_invoice, record_to_json
from fapiao.codec import canonical_bytes, invoice_from_json, invoice_to_json
from fapiao.findings import Finding
from fapiao.model import Invoice, Status
from fapiao.validate import validate

SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  code TEXT NOT NULL, number TEXT NOT NULL,
  seller_tax_id TEXT NOT NULL, buyer_tax_id TEXT NOT NULL,
  issue_date TEXT NOT NULL,
  doc TEXT NOT NULL, record TEXT NOT NULL, content_hash TEXT NOT NULL,
  status TEXT NOT NULL, platform_status TEXT NOT NULL,
  source TEXT NOT NULL,
  visible_at REAL NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_inv_seller ON invoices (seller_tax_id, issue_date);
CREATE INDEX IF NOT EXISTS ix_inv_buyer ON invoices (buyer_tax_id, issue_date);
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY, body_hash TEXT NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS numbers (
  number TEXT PRIMARY KEY, draft_hash TEXT NOT NULL, idempotency_key TEXT NOT NULL,
  dropped INTEGER NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

IGNORED_ON_UPLOAD = {"near_duplicate", "tax_id_missing"}


@dataclass(frozen=True, slots=True)
class Answer:
    """HTTP status and JSON body; `replayed` when it is the first answer to a known key."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def _error(status: int, code: str, message: str, **extra: Any) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message, **extra}})


def body_hash(op: str, doc: Any) -> str:
    return hashlib.sha256(canonical_bytes([op, doc])).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class SandboxStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- writes ---------------------------------------------------------------------------------

    def apply(
        self,
        items: list[tuple[str, Any, str]],
        *,
        drops: list[bool],
        visible_at: float,
    ) -> list[Answer]:
        """Apply (op, doc, idempotency_key) items in one transaction; op is upload or issue."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                answers = [
                    self._apply_one(op, doc, key, drop, visible_at)
                    for (op, doc, key), drop in zip(items, drops, strict=True)
                ]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return answers

    def _apply_one(self, op: str, doc: Any, key: str, drop: bool, visible_at: float) -> Answer:
        if not key or len(key) > 200:
            return _error(
                422, "idempotency_key", "Idempotency-Key 缺失或过长 / missing or too long"
            )
        digest = body_hash(op, doc)
        seen = self._db.execute(
            "SELECT body_hash, status, response FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if seen is not None:
            if seen[0] != digest:
                return _error(
                    422,
                    "idempotency_key_reused",
                    "同一幂等键对应了不同的请求 / the same key was sent with a different body",
                )
            return Answer(seen[1], json.loads(seen[2]), replayed=True)
        answer = self._issue(doc, key, drop, visible_at) if op == "issue" else None
        if answer is None:
            answer = self._upload(doc, drop, visible_at)
        if not drop and answer.status < 500:
            self._db.execute(
                "INSERT INTO idempotency VALUES (?, ?, ?, ?)",
                (key, digest, answer.status, json.dumps(answer.body, ensure_ascii=False)),
            )
        return answer

    def _read(self, doc: Any, *, draft: bool) -> tuple[Invoice | None, list[Finding]]:
        if isinstance(doc, dict) and draft:
            doc = {**doc, "number": doc.get("number") or ""}
        inv, findings = invoice_from_json(doc)
        if inv is None:
            return None, findings
        checked = inv if not draft else _numbered(inv, "0" * 20)
        problems = [f for f in validate(checked) if f.is_error and f.code not in IGNORED_ON_UPLOAD]
        return inv, problems

    def _upload(self, doc: Any, drop: bool, visible_at: float) -> Answer:
        inv, problems = self._read(doc, draft=False)
        if inv is None or problems:
            return _invalid(problems)
        return self._store(inv, "uploaded", drop, visible_at)

    def _issue(self, doc: Any, key: str, drop: bool, visible_at: float) -> Answer:
        inv, problems = self._read(doc, draft=True)
        if inv is None or problems:
            return _invalid(problems)
        if inv.number:
            return _error(422, "numbered", "草稿不应带发票号码 / a draft carries no number")
        if not inv.kind.is_digital:
            return _error(422, "kind", "平台只为数电票赋号 / only 数电票 are numbered here")
        number = self._next_number(inv)
        self._db.execute(
            "INSERT INTO numbers VALUES (?, ?, ?, ?, ?)",
            (number, body_hash("issue", doc), key, int(drop), _now()),
        )
        answer = self._store(_numbered(inv, number), "issued", drop, visible_at)
        if answer.status < 300:
            answer.body["invoice"] = invoice_to_json(_numbered(inv, number))
        return answer

    def _next_number(self, inv: Invoice) -> str:
        row = self._db.execute("SELECT value FROM counters WHERE name = 'number'").fetchone()
        value = (row[0] if row else 0) + 1
        self._db.execute("INSERT OR REPLACE INTO counters VALUES ('number', ?)", (value,))
        province = inv.seller.tax_id[2:4] if inv.seller.tax_id[2:4].isdigit() else "11"
        return f"{inv.issue_date.year % 100:02d}{province}2{value:015d}"

    def _store(self, inv: Invoice, source: str, drop: bool, visible_at: float) -> Answer:
        doc = invoice_to_json(inv)
        content = hashlib.sha256(canonical_bytes(doc)).hexdigest()
        key = inv.identity.key
        ok = {"code": inv.code, "number": inv.number, "received_at": _now()}
        existing = self._db.execute(
            "SELECT content_hash FROM invoices WHERE key = ?", (key,)
        ).fetchone()
        if existing is not None:
            if existing[0] == content:
                return Answer(200, {"outcome": "exists", **ok})
            return _error(
                409, "conflict", f"平台已有号码 {key} 的另一张发票 / {key} holds another invoice"
            )
        if not drop:
            self._db.execute(
                "INSERT INTO invoices (key, code, number, seller_tax_id, buyer_tax_id, issue_date,"
                " doc, record, content_hash, status, platform_status, source, visible_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    inv.code,
                    inv.number,
                    inv.seller.tax_id,
                    inv.buyer.tax_id,
                    inv.issue_date.isoformat(),
                    json.dumps(doc, ensure_ascii=False),
                    json.dumps(record_to_json(record_from_invoice(inv, source=source))),
                    content,
                    inv.status.value,
                    PLATFORM_STATUS.get(inv.status, ""),
                    source,
                    visible_at,
                    ok["received_at"],
                ),
            )
        return Answer(201, {"outcome": "created", **ok})

    def set_status(self, key: str, status: Status, platform_status: str = "") -> bool:
        """A change made at the platform side (红冲, 作废)."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE invoices SET status = ?, platform_status = ? WHERE key = ?",
                (status.value, platform_status or PLATFORM_STATUS.get(status, ""), key),
            )
            return cur.rowcount > 0

    # --- reads ----------------------------------------------------------------------------------

    def list(
        self,
        tax_id: str,
        date_from: str,
        date_to: str,
        *,
        cursor: int = 0,
        limit: int = 500,
        now: float | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        now = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, record, status, platform_status FROM invoices"
                " WHERE (seller_tax_id = ? OR buyer_tax_id = ?) AND issue_date BETWEEN ? AND ?"
                " AND visible_at <= ? AND seq > ? ORDER BY seq LIMIT ?",
                (tax_id, tax_id, date_from, date_to, now, cursor, limit + 1),
            ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_public(r[1], r[2], r[3]) for r in rows]
        return items, (rows[-1][0] if more else None)

    def get(self, key: str, *, now: float | None = None) -> dict[str, Any] | None:
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute(
                "SELECT record, status, platform_status FROM invoices"
                " WHERE key = ? AND visible_at <= ?",
                (key, now),
            ).fetchone()
        return None if row is None else _public(*row)

    def lookup(self, keys: list[str], *, now: float | None = None) -> list[dict[str, Any]]:
        """The visible invoices among `keys` (a batched get)."""
        now = time.time() if now is None else now
        found: list[dict[str, Any]] = []
        with self._lock:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                found.extend(
                    _public(*r)
                    for r in self._db.execute(
                        "SELECT record, status, platform_status FROM invoices"
                        f" WHERE key IN ({marks}) AND visible_at <= ?",
                        (*part, now),
                    )
                )
        return found

    def get_doc(self, key: str, *, now: float | None = None) -> dict[str, Any] | None:
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute(
                "SELECT doc, status FROM invoices WHERE key = ? AND visible_at <= ?", (key, now)
            ).fetchone()
        return None if row is None else {**json.loads(row[0]), "status": row[1]}

    def stats(self) -> dict[str, int]:
        """Counts the bench and tests check: invoices held, numbers handed out, duplicates."""
        with self._lock:
            one = self._db.execute
            return {
                "invoices": one("SELECT count(*) FROM invoices").fetchone()[0],
                "numbers_assigned": one("SELECT count(*) FROM numbers").fetchone()[0],
                "numbers_dropped": one("SELECT count(*) FROM numbers WHERE dropped = 1").fetchone()[
                    0
                ],
                "duplicate_content": one(
                    "SELECT count(*) FROM (SELECT content_hash FROM invoices"
                    " GROUP BY content_hash HAVING count(*) > 1)"
                ).fetchone()[0],
                "drafts_numbered_twice": one(
                    "SELECT count(*) FROM (SELECT n.draft_hash FROM numbers n JOIN invoices i"
                    " ON i.number = n.number GROUP BY n.draft_hash HAVING count(*) > 1)"
                ).fetchone()[0],
                "idempotency_keys": one("SELECT count(*) FROM idempotency").fetchone()[0],
            }


def _numbered(inv: Invoice, number: str) -> Invoice:
    from dataclasses import replace

    return replace(inv, number=number)


def _invalid(problems: list[Finding]) -> Answer:
    return _error(
        422,
        "invalid",
        "; ".join(f"{p.field}: {p.message}" for p in problems[:5]) or "invalid invoice",
        findings=[p.to_json() for p in problems],
    )


def _public(record_text: str, status: str, platform_status: str) -> dict[str, Any]:
    """The stored record, with the status as the platform holds it now (it may have changed)."""
    out: dict[str, Any] = json.loads(record_text)
    out.update(status=status, platform_status=platform_status)
    return out
