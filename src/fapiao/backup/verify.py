"""`backup verify`: re-read every chunk of every snapshot (or one) and check every hash.

Each chunk is read once, decrypted (AES-GCM authenticates it), its keyed name recomputed, and each
segment's plain bytes checked against the hash in the manifest. Problems are findings naming the
snapshot, the table and segment, and the chunk file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import zstandard

from fapiao.backup import RepositoryError
from fapiao.backup.crypto import Damaged
from fapiao.backup.repo import Repository, chunk_path
from fapiao.findings import Finding, finding


@dataclass(slots=True)
class VerifyReport:
    target: str
    snapshots: list[str] = field(default_factory=list)
    chunks: int = 0
    segments: int = 0
    bytes_read: int = 0
    problems: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "snapshots": self.snapshots,
            "chunks": self.chunks,
            "segments": self.segments,
            "bytes_read": self.bytes_read,
            "problems": [p.to_json() for p in self.problems],
        }


def verify_repo(repo: Repository, sid: str | None = None) -> VerifyReport:
    report = VerifyReport(repo.target.name)
    ids = [sid] if sid else repo.snapshot_ids()
    checked: dict[tuple[str, ...], Finding | None] = {}
    for snap in ids:
        try:
            manifest = repo.load_manifest(snap)
        except RepositoryError as exc:
            report.problems.append(
                finding("backup_manifest_damaged", "manifest", snapshot=snap, detail=str(exc))
            )
            continue
        report.snapshots.append(snap)
        for table in manifest["tables"]:
            parts = [(f"{table['name']}[{i}]", s) for i, s in enumerate(table["segments"])]
            parts += [
                (f"{table['name']} patch {i}", p) for i, p in enumerate(table.get("patches") or [])
            ]
            for where, seg in parts:
                key = (seg["sha"], *seg["chunks"])
                if key not in checked:
                    checked[key] = _check_segment(repo, seg, report, snap, where)
                problem = checked[key]
                if problem is not None and problem not in report.problems:
                    report.problems.append(problem)
    return report


def _check_segment(
    repo: Repository, seg: dict[str, Any], report: VerifyReport, snap: str, where: str
) -> Finding | None:
    report.segments += 1
    parts: list[bytes] = []
    for chunk in seg["chunks"]:
        report.chunks += 1
        path = chunk_path(chunk)
        try:
            parts.append(repo.get_chunk(chunk))
        except FileNotFoundError:
            return finding("backup_chunk_missing", where, snapshot=snap, chunk=path)
        except Damaged as exc:
            return finding(
                "backup_chunk_damaged",
                where,
                snapshot=snap,
                chunk=path,
                detail=f"解密或校验失败：{exc}",
                detail_en=str(exc),
            )
    body = b"".join(parts)
    report.bytes_read += len(body)
    try:
        plain = zstandard.ZstdDecompressor().decompress(body, max_output_size=max(seg["size"], 1))
    except zstandard.ZstdError as exc:
        plain = b""
        detail = str(exc)
    else:
        detail = "segment hash mismatch"
    if hashlib.sha256(plain).hexdigest() != seg["sha"]:
        return finding(
            "backup_chunk_damaged",
            where,
            snapshot=snap,
            chunk=chunk_path(seg["chunks"][0]) if seg["chunks"] else "-",
            detail="数据段校验失败",
            detail_en=detail,
        )
    return None
