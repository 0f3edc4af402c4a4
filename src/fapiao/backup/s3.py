"""An S3-compatible bucket as a backup target (`s3://BUCKET/PREFIX`), with the directory's interface.

Any store speaking the S3 protocol works (AWS, MinIO, Ceph, SeaweedFS, Cloudflare R2, …): the
endpoint comes from `AWS_ENDPOINT_URL` (unset: AWS itself), credentials and region the usual AWS way
(environment, `~/.aws/credentials`, instance role). Objects are named `PREFIX/<path in the
repository>`, the same layout as a directory target; chunks are content-addressed and sealed before
they leave, so the store sees only ciphertext under keyed-hash names.

An S3 PUT makes an object appear whole or not at all, so a manifest uploaded after its chunks (as
`Repository.save_manifest` does) never names a chunk that is not there. Which chunks exist is
listed once per run (one request per thousand) instead of asked one by one.

`FAPIAO_S3_ADDRESSING` (`path`, `virtual`, `auto`) overrides the addressing style: path style is the
default when an endpoint is given, as most self-hosted stores want; AWS itself takes `auto`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fapiao.backup import BackupError, TargetError

T = TypeVar("T")
DELETE_BATCH = 1000  # the most one DeleteObjects request takes


def split_url(spec: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix")."""
    rest = spec.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket or "/" in bucket or not all(c.isalnum() or c in "-._" for c in bucket):
        raise BackupError(f"无效的 S3 地址 / not an s3://BUCKET/PREFIX address: {spec!r}")
    return bucket, prefix.strip("/")


class S3Target:
    def __init__(self, spec: str, *, page_size: int = 1000) -> None:
        self.bucket, self.prefix = split_url(spec)
        self.name = spec
        self.page_size = page_size
        self._client: Any = None
        self._chunks: set[str] | None = None  # paths under data/, listed once

    # --- plumbing --------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
            style = os.environ.get("FAPIAO_S3_ADDRESSING") or ("path" if endpoint else "auto")
            config = Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"mode": "standard"},  # attempts: AWS_MAX_ATTEMPTS, else 3
                s3={"addressing_style": style},
                # content is authenticated by AES-GCM already; many S3-compatible stores reject
                # the newer default checksum headers
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            self._client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint, config=config
            )
        return self._client

    def _key(self, rel: str) -> str:
        if rel.startswith("/") or ".." in rel.split("/"):
            raise BackupError(f"非法路径 / bad path in repository: {rel!r}")
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _rel(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    def _call(self, fn: Callable[[], T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return fn()
        except ClientError as exc:
            raise TargetError(f"{self.name}: {_describe(exc, self.bucket)}") from exc
        except NoCredentialsError as exc:
            raise TargetError(
                f"{self.name}: 没有 S3 访问凭据 / no S3 credentials (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials)"
            ) from exc
        except BotoCoreError as exc:
            raise TargetError(
                f"{self.name}: 无法连接 S3 服务 / S3 store unreachable: {exc}"
            ) from exc

    # --- the target interface ------------------------------------------------------------------

    def exists(self, rel: str) -> bool:
        if rel.startswith("data/"):
            if self._chunks is None:
                self._chunks = set(self.list("data"))
            return rel in self._chunks
        from botocore.exceptions import ClientError

        key = self._key(rel)

        def head() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True

        return self._call(head)

    def read(self, rel: str) -> bytes:
        from botocore.exceptions import ClientError

        key = self._key(rel)
        try:
            return self._call(
                lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            )
        except TargetError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and _code(cause) in ("NoSuchKey", "404"):
                raise FileNotFoundError(errno.ENOENT, "no such object", rel) from None
            raise

    def list(self, folder: str) -> list[str]:
        base = self._key(folder.rstrip("/")) + "/"

        def pages() -> list[str]:
            found: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(
                Bucket=self.bucket, Prefix=base, PaginationConfig={"PageSize": self.page_size}
            ):
                found += [self._rel(o["Key"]) for o in page.get("Contents", [])]
            return found

        return sorted(self._call(pages))

    def write(self, rel: str, data: bytes, *, sync_now: bool = True) -> None:
        """One PUT: the object appears whole or not at all (sync_now has nothing to wait for)."""
        key = self._key(rel)
        self._call(lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=data))
        if self._chunks is not None and rel.startswith("data/"):
            self._chunks.add(rel)

    def sync(self) -> None:
        """Every PUT has completed when it returned."""

    def delete(self, rels: Iterable[str]) -> None:
        todo = [self._key(r) for r in rels]
        for n in range(0, len(todo), DELETE_BATCH):
            batch = [{"Key": k} for k in todo[n : n + DELETE_BATCH]]
            done = self._call(
                lambda b=batch: self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": b, "Quiet": True}
                )
            )
            if done.get("Errors"):
                first = done["Errors"][0]
                raise TargetError(
                    f"{self.name}: 删除失败 / delete failed: {first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message', '')}"
                )
        if self._chunks is not None:
            self._chunks.difference_update(self._rel(k) for k in todo)


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(exc: Any, bucket: str) -> str:
    code = _code(exc)
    if code == "NoSuchBucket":
        return f"存储桶不存在 / no such bucket: {bucket}"
    if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
        return f"无访问权限 / access denied ({code})"
    return f"S3 错误 / S3 error: {exc}"
