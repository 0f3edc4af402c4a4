"""Byte caps on uploads: per request (middleware, before and while the body streams in) and per file
(after the multipart parser has spooled it to a temporary file: above 1 MiB it is on disk, never
whole in memory).

- `FAPIAO_WEB_MAX_REQUEST_MB` (300): a request whose Content-Length says more is refused at once;
  one that streams more is cut off when it passes the cap. Either way: 413 `too_large` with the
  cap in Chinese and English (JSON under /api/, a page elsewhere).
- Per file: each route names its cap (`file_cap`); `check(file, cap)` raises the same 413.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import IO

from fastapi import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fapiao.web.security import Problem

MB = 1024 * 1024
MAX_REQUEST_BYTES = int(float(os.environ.get("FAPIAO_WEB_MAX_REQUEST_MB", "300")) * MB)
DRAIN_BYTES = (
    64 * MB
)  # read (and drop) at most this much of a refused body, so the client hears 413


def _mb(n: int) -> str:
    return f"{n / MB:g}"


def too_large(cap: int, what: str = "file") -> Problem:
    if what == "request":
        zh, en = (
            f"上传过大：每次请求最多 {_mb(cap)} MB",
            f"upload too large: at most {_mb(cap)} MB per request",
        )
    else:
        zh, en = (
            f"文件过大：每个文件最多 {_mb(cap)} MB",
            f"file too large: at most {_mb(cap)} MB per file",
        )
    return Problem(413, "too_large", zh, en)


def size_of(file: UploadFile) -> int:
    if file.size is not None:
        return file.size
    fh = file.file
    at = fh.tell()
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(at)
    return size


def check(file: UploadFile, cap: int) -> None:
    if size_of(file) > cap:
        raise too_large(cap)


def read(file: UploadFile, cap: int) -> bytes | None:
    """The file's bytes (in a job thread: a blocking read of the spooled file), None above `cap`."""
    if size_of(file) > cap:
        return None
    file.file.seek(0)
    return file.file.read(cap + 1)


def save(file: UploadFile, target: Path) -> None:
    """Copy the spooled upload to `target` in chunks (never whole in memory)."""
    fh: IO[bytes] = file.file
    fh.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(fh, out, 1024 * 1024)


class _Over(HTTPException):
    """Raised from `receive` when the body passes the cap; the middleware answers for the app."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


class BodyLimit:
    """Pure ASGI middleware: the per-request cap."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise _Over()
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:  # whatever the app made of the exception, the answer is ours
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _Over:
            over = True
        if over and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        drained = 0
        while drained < DRAIN_BYTES:  # let a client that is still sending read the answer
            message = await receive()
            if message["type"] != "http.request":
                break
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        problem = too_large(self.max_bytes, "request")
        if scope["path"].startswith("/api/"):
            body = json.dumps(problem.to_json(), ensure_ascii=False).encode()
            kind = b"application/json"
        else:
            body = (
                "<!doctype html><meta charset=utf-8><title>413</title><h1>413</h1>"
                f"<p>{problem.zh}</p><p>{problem.en}</p>"
            ).encode()
            kind = b"text/html; charset=utf-8"
        headers = [(b"content-type", kind), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
