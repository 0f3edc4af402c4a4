"""A repository: a target opened with its keys. Chunks in, chunks out, manifests last."""

from __future__ import annotations

import json
import re
from typing import Any

import zstandard

from fapiao.backup import RepositoryError
from fapiao.backup.crypto import CHUNK_MAGIC, MANIFEST_MAGIC, Damaged, Keys, unwrap, wrap
from fapiao.backup.targets import Target

FORMAT = "fapiao-backup"
VERSION = 1
SNAPSHOT_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{8}$")


def chunk_path(chunk_id: str) -> str:
    return f"data/{chunk_id[:2]}/{chunk_id}"


class Repository:
    def __init__(self, target: Target, keys: Keys) -> None:
        self.target = target
        self.keys = keys
        self.written = 0  # bytes of new chunks this session
        self.reused = 0

    @classmethod
    def open(cls, target: Target, passphrase: str, *, create: bool = False) -> Repository:
        try:
            raw = target.read("config")
        except FileNotFoundError:
            if not create:
                raise RepositoryError(
                    f"{target.name}: 不是备份库（没有 config）/ not a backup repository (no config)"
                ) from None
            keys = Keys.new()
            config = {"format": FORMAT, "version": VERSION, **wrap(keys, passphrase)}
            target.write("config", json.dumps(config, indent=1).encode())
            return cls(target, keys)
        try:
            config = json.loads(raw)
            if config.get("format") != FORMAT:
                raise ValueError("not a fapiao backup config")
            if config.get("version") != VERSION:
                raise ValueError(f"unsupported version {config.get('version')!r}")
        except (ValueError, AttributeError) as exc:
            raise RepositoryError(f"{target.name}: 备份库配置损坏 / damaged config: {exc}") from exc
        return cls(target, unwrap(config, passphrase))

    # --- chunks ------------------------------------------------------------------------------

    def put_chunk(self, data: bytes) -> str:
        chunk_id = self.keys.chunk_id(data)
        path = chunk_path(chunk_id)
        if self.target.exists(path):
            self.reused += len(data)
            return chunk_id
        sealed = self.keys.seal(CHUNK_MAGIC, data, chunk_id.encode())
        self.target.write(path, sealed, sync_now=False)
        self.written += len(sealed)
        return chunk_id

    def get_chunk(self, chunk_id: str) -> bytes:
        """The chunk's content; FileNotFoundError when missing, Damaged when altered."""
        sealed = self.target.read(chunk_path(chunk_id))
        data = self.keys.open(CHUNK_MAGIC, sealed, chunk_id.encode())
        if self.keys.chunk_id(data) != chunk_id:
            raise Damaged("content does not match its name")
        return data

    def chunk_ids(self) -> set[str]:
        return {p.rsplit("/", 1)[1] for p in self.target.list("data")}

    # --- manifests ---------------------------------------------------------------------------

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        """Written last: chunk files and their folders are made durable first."""
        self.target.sync()
        sid = manifest["id"]
        body = zstandard.ZstdCompressor(level=9).compress(
            json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
        )
        self.target.write(
            f"snapshots/{sid}", self.keys.seal(MANIFEST_MAGIC, body, f"snapshot:{sid}".encode())
        )

    def load_manifest(self, sid: str) -> dict[str, Any]:
        if not SNAPSHOT_ID.match(sid):
            raise RepositoryError(f"无效的备份编号 / not a snapshot id: {sid!r}")
        try:
            sealed = self.target.read(f"snapshots/{sid}")
        except FileNotFoundError:
            raise RepositoryError(
                f"{self.target.name}: 没有备份 {sid} / no snapshot {sid}"
            ) from None
        try:
            body = self.keys.open(MANIFEST_MAGIC, sealed, f"snapshot:{sid}".encode())
            manifest: dict[str, Any] = json.loads(zstandard.ZstdDecompressor().decompress(body))
        except (Damaged, zstandard.ZstdError, ValueError) as exc:
            raise RepositoryError(
                f"{self.target.name}: 备份清单 {sid} 损坏 / manifest of snapshot {sid} is damaged: {exc}"
            ) from exc
        return manifest

    def snapshot_ids(self) -> list[str]:
        names = (p.rsplit("/", 1)[1] for p in self.target.list("snapshots"))
        return sorted(n for n in names if SNAPSHOT_ID.match(n))

    def newest(self) -> dict[str, Any] | None:
        ids = self.snapshot_ids()
        return self.load_manifest(ids[-1]) if ids else None
