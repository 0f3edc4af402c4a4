"""Where a repository's bytes go: a directory (local disk, NAS, USB) or an S3-compatible bucket
(`s3://BUCKET/PREFIX`, see `s3.py`). Both have the interface of `Target`.

In a directory every file is written to a temporary name, fsynced, renamed into place, and its
directory fsynced before anything that refers to it (a manifest) is written; an interrupted run
leaves only temporary files and unreferenced chunks, never a half-written file under a real name.
Files are never rewritten; only `prune` deletes.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from fapiao.backup import BackupError, TargetError

TMP_MARK = ".tmp-"


def describe_os_error(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"磁盘已满 / disk full ({exc.strerror})"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"无写入权限 / not writable ({exc.strerror})"
    return f"读写错误 / I/O error: {exc}"


class DirTarget:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = str(root)
        self._dirty_dirs: set[Path] = set()

    def _path(self, rel: str) -> Path:
        if rel.startswith("/") or ".." in rel.split("/"):
            raise BackupError(f"非法路径 / bad path in repository: {rel!r}")
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return self._path(rel).is_file()

    def read(self, rel: str) -> bytes:
        try:
            return self._path(rel).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise TargetError(f"{self.name}: {describe_os_error(exc)}") from exc

    def list(self, folder: str) -> list[str]:
        base = self._path(folder)
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root)).replace(os.sep, "/")
            for p in base.rglob("*")
            if p.is_file() and TMP_MARK not in p.name
        )

    def write(self, rel: str, data: bytes, *, sync_now: bool = True) -> None:
        """Atomically create `rel`; with sync_now=False the directory fsync waits for `sync()`."""
        path = self._path(rel)
        tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TargetError(f"{self.name}: {describe_os_error(exc)}") from exc
        self._dirty_dirs.add(path.parent)
        if sync_now:
            self.sync()

    def sync(self) -> None:
        try:
            for folder in sorted(self._dirty_dirs, key=lambda p: len(p.parts), reverse=True):
                fd = os.open(folder, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if self._dirty_dirs:
                fd = os.open(self.root, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise TargetError(f"{self.name}: {describe_os_error(exc)}") from exc
        self._dirty_dirs.clear()

    def delete(self, rels: Iterable[str]) -> None:
        try:
            for rel in rels:
                path = self._path(rel)
                path.unlink(missing_ok=True)
                self._dirty_dirs.add(path.parent)
        except OSError as exc:
            raise TargetError(f"{self.name}: {describe_os_error(exc)}") from exc
        self.sync()


class Target(Protocol):
    """Paths are relative, `/`-separated: `config`, `data/xx/ID`, `snapshots/ID`."""

    name: str

    def exists(self, rel: str) -> bool: ...
    def read(self, rel: str) -> bytes: ...  # FileNotFoundError when absent
    def list(self, folder: str) -> list[str]: ...
    def write(self, rel: str, data: bytes, *, sync_now: bool = True) -> None: ...
    def sync(self) -> None: ...
    def delete(self, rels: Iterable[str]) -> None: ...


def parse_target(spec: str) -> Target:
    if spec.startswith("s3://"):
        from fapiao.backup.s3 import S3Target

        return S3Target(spec)
    if "://" in spec:
        raise BackupError(f"未知的备份目标 / unknown target scheme: {spec!r}")
    return DirTarget(Path(spec).expanduser())
