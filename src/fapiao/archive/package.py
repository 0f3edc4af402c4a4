"""Writing an archive package (see the package docstring) to a folder or a zip file."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fapiao.ledger import checkpoint, queries, schema
from fapiao.ledger.store import Ledger, utc_now
from fapiao.proof import MerkleTree, leaf_hash, signed_bytes

FORMAT = "fapiao-archive/1"
# by content, when the file's own name has no usable extension
_SUFFIX = {b"%PDF": ".pdf", b"PK\x03\x04": ".ofd", b"<?xm": ".xml", b"\x89PNG": ".png",
           b"\xff\xd8\xff": ".jpg", b"{": ".json"}  # fmt: skip
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def export(ledger: Ledger, *, tenant: dict[str, Any], period: str, out: Path) -> dict[str, Any]:
    """Write the package for `tenant` (a tenants row) and `period` (YYYY or YYYY-MM); returns the
    manifest. A fresh checkpoint covers every event written so far."""
    start, end = queries.period_bounds(period)
    key = checkpoint.signing_key()
    cp = checkpoint.create(ledger, key)
    rows = _invoices(ledger, tenant["id"], start, end)
    events = _events(ledger, [r["id"] for r in rows], cp["seq"])
    tree = MerkleTree([leaf_hash(h) for h in checkpoint._event_hashes(ledger.engine, cp["seq"])])
    files: dict[str, str] = {}
    listed = []
    with _Writer(out) as write:
        for row in rows:
            folder = f"invoices/{row['identity_key']}"
            own = events.get(str(row["id"]), [])
            for item in own:
                item["path"] = tree.path(item["seq"] - 1)
            proof = {
                "format": "fapiao-proof/1",
                "key": row["identity_key"],
                "invoice_id": str(row["id"]),
                "checkpoint": cp,
                "events": own,
            }
            parts = {
                f"{folder}/invoice.json": _json(json.loads(row["doc"])),
                f"{folder}/proof.json": _json(proof),
            }
            original = _original(ledger, row["original_sha256"])
            if original is not None:
                suffix = _suffix(row["original_name"], original)
                parts[f"{folder}/original{suffix}"] = original
            for name, data in parts.items():
                write(name, data)
                files[name] = hashlib.sha256(data).hexdigest()
            listed.append(
                {
                    "key": row["identity_key"],
                    "folder": folder,
                    "issue_date": row["issue_date"].isoformat(),
                    "direction": row["direction"],
                }
            )
        manifest = {
            "format": FORMAT,
            "tenant": {"id": tenant["id"], "tax_id": tenant["tax_id"], "name": tenant["name"]},
            "period": period,
            "created": utc_now(),
            "checkpoint": cp,
            "invoices": listed,
            "files": files,
            "public_key": cp["public_key"],
        }
        manifest["signature"] = base64.b64encode(key.sign(signed_bytes(manifest))).decode()
        write("manifest.json", _json(manifest))
    return manifest


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def _suffix(name: str, data: bytes) -> str:
    """The original's extension as its name had it (`a.zip!b.ofd` → .ofd, `全量发票查询.xlsx[row 3]`
    → .xlsx), else by its first bytes: an xlsx or OFD is a zip, which its content alone cannot
    tell apart, and an archive reader opens the file by its extension."""
    own = name.split("[", 1)[0].rsplit("!", 1)[-1].rsplit("/", 1)[-1]
    if found := _EXTENSION.search(own):
        return found.group().lower()
    return next((s for magic, s in _SUFFIX.items() if data.startswith(magic)), ".bin")


def _invoices(ledger: Ledger, tenant_id: int, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    inv = schema.invoices
    query = (
        select(inv)
        .where(inv.c.tenant_id == tenant_id, inv.c.issue_date.between(start, end))
        .order_by(inv.c.issue_date, inv.c.id)
    )
    with ledger.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _events(ledger: Ledger, ids: list[int], upto: int) -> dict[str, list[dict[str, Any]]]:
    ev = schema.events
    wanted = {str(i) for i in ids}
    found: dict[str, list[dict[str, Any]]] = {}
    query = select(ev).where(ev.c.entity == "invoice", ev.c.seq <= upto).order_by(ev.c.seq)
    with ledger.engine.connect() as conn:
        for r in conn.execution_options(yield_per=5000).execute(query):
            if r.entity_id in wanted:
                item = {k: getattr(r, k) for k in ("seq", "ts", "actor", "tenant_id", "action")}
                item |= {"entity": r.entity, "entity_id": r.entity_id, "payload": r.payload}
                item |= {"prev_hash": r.prev_hash, "hash": r.hash}
                found.setdefault(r.entity_id, []).append(item)
    return found


def _original(ledger: Ledger, sha256: str | None) -> bytes | None:
    if not sha256:
        return None
    with ledger.engine.connect() as conn:
        return conn.execute(
            select(schema.blobs.c.data).where(schema.blobs.c.sha256 == sha256)
        ).scalar()


class _Writer:
    """Files into a folder, or into a zip when the target ends in .zip."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.zip: zipfile.ZipFile | None = None

    def __enter__(self) -> Any:
        if self.out.suffix.lower() == ".zip":
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.zip = zipfile.ZipFile(self.out, "w", zipfile.ZIP_DEFLATED)
        else:
            self.out.mkdir(parents=True, exist_ok=True)
        return self.write

    def write(self, name: str, data: bytes) -> None:
        if self.zip is not None:
            self.zip.writestr(name, data)
        else:
            path = self.out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def __exit__(self, *exc: object) -> None:
        if self.zip is not None:
            self.zip.close()


def members(root: Path) -> Iterator[str]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path.relative_to(root).as_posix()
