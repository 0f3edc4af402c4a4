"""Canonical JSON (DESIGN.md): one invoice object, an array of them, or JSON Lines."""

from __future__ import annotations

import json
from typing import Any

from fapiao.codec import invoice_from_json
from fapiao.findings import finding
from fapiao.parse import Parsed


def sniff(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"{", b"[")


def parse(data: bytes) -> list[Parsed]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [Parsed(None, [finding("unreadable", detail=f"not UTF-8: {exc.reason}")])]
    docs = _documents(text)
    if isinstance(docs, Parsed):
        return [docs]
    out = []
    for index, doc in enumerate(docs):
        inv, findings = invoice_from_json(doc)
        out.append(Parsed(inv, findings, f"[{index}]" if len(docs) > 1 else ""))
    return out


def _documents(text: str) -> list[Any] | Parsed:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and lines[0].lstrip().startswith("{"):
            try:
                return [json.loads(line) for line in lines]
            except json.JSONDecodeError:
                pass
        return Parsed(
            None, [finding("unreadable", detail=f"bad JSON at line {exc.lineno}: {exc.msg}")]
        )
    except RecursionError:
        return Parsed(None, [finding("hostile", detail="JSON nested too deep")])
    return doc if isinstance(doc, list) else [doc]
