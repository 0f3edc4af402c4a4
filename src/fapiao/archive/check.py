"""Checking an archive package alone: the manifest's signature, every file against its SHA-256, no
file added or missing, each invoice's proof under the signed checkpoint, each original file the one
its import event recorded. Imports only `fapiao.proof` of ours, and never the database."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from fapiao.proof import check_proof, signature_ok

MAX_MEMBER_BYTES = 200 * 1024 * 1024


class Package:
    """A folder or a zip file, read member by member."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> set[str]:
        if self.zip is not None:
            return {i.filename for i in self.zip.infolist() if not i.is_dir()}
        return {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()}

    def read(self, name: str) -> bytes:
        if ".." in name.split("/") or name.startswith("/"):
            raise ValueError(f"unsafe member name {name!r}")
        if self.zip is not None:
            if self.zip.getinfo(name).file_size > MAX_MEMBER_BYTES:
                raise ValueError(f"{name} is too large")
            return self.zip.read(name)
        return (self.path / name).read_bytes()


def verify(path: Path, *, public_key: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """(the manifest, the problems in Chinese / English): no problems means the package holds."""
    pkg = Package(path)
    try:
        manifest = json.loads(pkg.read("manifest.json"))
    except (KeyError, OSError, ValueError) as exc:
        return {}, [f"没有可读的清单 / no readable manifest.json: {exc}"]
    problems: list[str] = []
    if not signature_ok(manifest, public_key):
        problems.append("清单签名无效 / the manifest's signature does not verify")
    cp = manifest.get("checkpoint", {})
    if cp.get("public_key") != manifest.get("public_key") or not signature_ok(cp, public_key):
        problems.append("检查点签名无效 / the checkpoint's signature does not verify")
    files: dict[str, str] = manifest.get("files", {})
    present = pkg.names() - {"manifest.json"}
    for name in sorted(present - set(files)):
        problems.append(f"清单外的文件 / a file the manifest does not list: {name}")
    for name, digest in sorted(files.items()):
        if name not in present:
            problems.append(f"文件缺失 / missing: {name}")
        elif hashlib.sha256(pkg.read(name)).hexdigest() != digest:
            problems.append(f"文件被改动 / changed: {name}")
    for entry in manifest.get("invoices", []):
        problems.extend(_invoice(pkg, entry, cp, files, present))
    return manifest, problems


def _invoice(
    pkg: Package,
    entry: dict[str, Any],
    cp: dict[str, Any],
    files: dict[str, str],
    present: set[str],
) -> list[str]:
    folder, key = entry["folder"], entry["key"]
    if f"{folder}/proof.json" not in present:
        return [f"{key}: 缺少证明 / no proof"]
    proof = json.loads(pkg.read(f"{folder}/proof.json"))
    problems = [f"{key}: {p}" for p in check_proof(proof)]
    if proof.get("checkpoint") != cp:
        problems.append(f"{key}: 证明不在清单的检查点下 / proof under another checkpoint")
    if proof.get("key") != key:
        problems.append(f"{key}: 证明属于 {proof.get('key')} / the proof is another invoice's")
    recorded = {
        json.loads(e["payload"]).get("sha256") for e in proof.get("events", []) if e.get("payload")
    } - {None}
    originals = [n for n in present if n.startswith(f"{folder}/original")]
    for name in originals:
        if files.get(name) not in recorded:
            problems.append(
                f"{key}: 原始文件不是入账时的文件 / the original is not the file that was recorded"
            )
    return problems
