"""Signed checkpoints of the audit chain, and inclusion proofs under them.

`audit verify` finds a row edited or deleted, but an insider with database access could cut the
newest events away and move the head row back: the shorter chain is consistent. A checkpoint kept
somewhere else (a file, a mail) pins the chain: {seq, head hash, Merkle root, time, ledger id, public
key} signed with the ledger's Ed25519 key. The private key lives outside the database
(`$FAPIAO_SIGNING_KEY`, else the data folder), created on first use. The hashing and the checks an
outsider runs are in `fapiao.proof`, which needs no database.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from fapiao.findings import Finding, Severity
from fapiao.ledger import schema
from fapiao.ledger.db import default_db_path
from fapiao.ledger.store import Ledger, utc_now
from fapiao.proof import (
    CHECKPOINT_FORMAT,
    FORMAT,
    TreeBuilder,
    audit_path,
    leaf_hash,
    signature_ok,
    signed_bytes,
)


def key_path() -> Path:
    raw = os.environ.get("FAPIAO_SIGNING_KEY")
    return Path(raw).expanduser() if raw else default_db_path().parent / "signing-key.pem"


def signing_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The ledger's private key, created (readable by its owner only) when there is none yet."""
    path = path or key_path()
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _event_hashes(engine: Engine, upto: int | None = None) -> Iterator[str]:
    ev = schema.events
    query = select(ev.c.hash).order_by(ev.c.seq)
    if upto is not None:
        query = query.where(ev.c.seq <= upto)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=20000).execute(query):
            yield row.hash


def create(ledger: Ledger, key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """Sign the chain as it stands, keep the checkpoint (table and event) and return it."""
    key = key or signing_key()
    builder, first, last = TreeBuilder(), "", ""
    for h in _event_hashes(ledger.engine):
        builder.add(h)
        first = first or h
        last = h
    doc: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "ledger_id": first,  # the first event's hash names the ledger for good
        "seq": builder.size,
        "head": last,
        "root": builder.root(),
        "time": utc_now(),
        "public_key": public_key_b64(key),
    }
    doc["signature"] = base64.b64encode(key.sign(signed_bytes(doc))).decode()
    with ledger.write() as tx:
        (cid,) = tx.new_ids(1)
        row = {
            "id": cid,
            "seq": doc["seq"],
            "head": doc["head"],
            "root": doc["root"],
            "created_at": tx.now,
            "public_key": doc["public_key"],
            "doc": json.dumps(doc, ensure_ascii=False, sort_keys=True),
        }
        tx.insert(schema.checkpoints, [row])
        tx.event("audit.checkpoint", "checkpoint", cid, doc)
    return doc


def latest(engine: Engine) -> dict[str, Any] | None:
    cp = schema.checkpoints
    with engine.connect() as conn:
        doc = conn.execute(select(cp.c.doc).order_by(cp.c.seq.desc()).limit(1)).scalar()
    return json.loads(doc) if doc else None


@dataclass(frozen=True, slots=True)
class Named:
    """A checkpoint and what to call it in messages (its file name)."""

    doc: dict[str, Any]
    name: str


def _problem(cp: Named, zh: str, en: str) -> Finding:
    where = f"{cp.name} (seq {cp.doc.get('seq')}, {cp.doc.get('time', '')})"
    return Finding(
        "audit_broken",
        "checkpoint",
        Severity.ERROR,
        f"检查点 {where}：{zh}",
        f"checkpoint {where}: {en}",
    )


def check(engine: Engine, cp: Named, *, pinned_key: str | None = None) -> list[Finding]:
    """Does the chain still hold the checkpoint's head at its sequence number?"""
    doc = cp.doc
    if doc.get("format") != CHECKPOINT_FORMAT or not signature_ok(doc, pinned_key):
        return [
            _problem(cp, "签名无效或不是检查点文件", "not a checkpoint, or its signature fails")
        ]
    seq = int(doc["seq"])
    builder, first, head = TreeBuilder(), "", ""
    for h in _event_hashes(engine, seq):
        builder.add(h)
        first, head = first or h, h
    if seq and first != doc["ledger_id"]:
        return [_problem(cp, "属于另一个账簿", "belongs to another ledger")]
    if builder.size < seq:
        return [
            _problem(
                cp,
                f"审计链只剩 {builder.size} 个事件，检查点时有 {seq} 个（链尾被截断）",
                f"the chain holds {builder.size} events, the checkpoint {seq} (the end was cut)",
            )
        ]
    if head != doc["head"] or builder.root() != doc["root"]:
        return [
            _problem(
                cp,
                f"第 {seq} 个事件及之前的链与检查点不符（被改写或分叉）",
                f"the chain up to event {seq} differs from the checkpoint (rewritten or forked)",
            )
        ]
    return []


def prove(engine: Engine, invoice_ids: list[int], key: str, cp: dict[str, Any]) -> dict[str, Any]:
    """The events about the invoice up to the checkpoint, each with its audit path to the root."""
    seq = int(cp["seq"])
    leaves = [leaf_hash(h) for h in _event_hashes(engine, seq)]
    ev = schema.events
    query = (
        select(ev)
        .where(ev.c.entity == "invoice", ev.c.entity_id.in_([str(i) for i in invoice_ids]))
        .where(ev.c.seq <= seq)
        .order_by(ev.c.seq)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    events = []
    for row in rows:
        item = {k: row[k] for k in ("seq", "ts", "actor", "tenant_id", "action", "entity")}
        item |= {"entity_id": row["entity_id"], "payload": row["payload"]}
        item |= {"prev_hash": row["prev_hash"], "hash": row["hash"]}
        item["path"] = audit_path(leaves, row["seq"] - 1)
        events.append(item)
    return {
        "format": FORMAT,
        "key": key,
        "invoice_id": str(invoice_ids[0]) if invoice_ids else "",
        "checkpoint": cp,
        "events": events,
    }


def summary(engine: Engine) -> dict[str, Any] | None:
    """The newest checkpoint's head and signature, for reports, printouts and backup manifests."""
    doc = latest(engine)
    if doc is None:
        return None
    keys = ("seq", "head", "root", "time", "public_key", "signature")
    return {k: doc[k] for k in keys}


def stamp(engine: Engine) -> str:
    """One line naming the newest checkpoint, or an empty string when there is none yet."""
    cp = summary(engine)
    if cp is None:
        return ""
    return (
        f"审计链检查点 checkpoint seq {cp['seq']} · head {cp['head'][:16]}… · "
        f"签名 signature {cp['signature'][:16]}… · {cp['time'][:19]}Z"
    )
