"""Canonical JSON (DESIGN.md): one invoice object, an array of them, or JSON Lines."""

from __future__ import annotations

import json
from typing import Any

import orjson

from fapiao.codec import invoice_from_json
from fapiao.findings import finding
from fapiao.parse import Parsed


def sniff(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"{", b"[")


def parse(data: bytes) -> list[Parsed]:
    docs = _fast_documents(data)
    if docs is None:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            detail, detail_en = f"不是 UTF-8 编码：{exc.reason}", f"not UTF-8: {exc.reason}"
            return [Parsed(None, [finding("unreadable", detail=detail, detail_en=detail_en)])]
        docs = _documents(text)
    if isinstance(docs, Parsed):
        return [docs]
    out = []
    for index, doc in enumerate(docs):
        inv, findings = invoice_from_json(doc)
        out.append(Parsed(inv, findings, f"[{index}]" if len(docs) > 1 else ""))
    return out


_FAST_BRACKETS = 200  # far below the nesting at which json.loads gives up


def _fast_documents(data: bytes) -> list[Any] | None:
    """orjson reads what `json.loads` reads, alike, several times faster; whatever it refuses
    (NaN, integers past 64 bits, lone surrogates, JSON Lines, bad UTF-8 …) goes the slow way,
    which accepts or explains it exactly as before. So does a document that might nest deep
    enough for `json.loads` to call it hostile (orjson goes deeper): brackets counted, in C."""
    if data.count(b"[") + data.count(b"{") > _FAST_BRACKETS:
        return None
    try:
        doc = orjson.loads(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, list) else [doc]


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
            None,
            [
                finding(
                    "unreadable",
                    detail=f"JSON 第 {exc.lineno} 行有误：{exc.msg}",
                    detail_en=f"bad JSON at line {exc.lineno}: {exc.msg}",
                )
            ],
        )
    except RecursionError:
        detail, detail_en = "JSON 嵌套过深", "JSON nested too deep"
        return Parsed(None, [finding("hostile", detail=detail, detail_en=detail_en)])
    return doc if isinstance(doc, list) else [doc]
