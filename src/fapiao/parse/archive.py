"""Zip archives of invoices (the platform's batch download is one): every member in any format.

Each member is detected by content and parsed by its own format (a capability's too: the
platform's export list zipped is read as a list); its results are labelled
`!member` (so the file reads `batch.zip!a.ofd`) and keep the member's bytes as their original.
A zip inside a zip is read (depth 2); deeper nesting is refused as hostile. One byte budget covers
the whole tree, so nesting cannot multiply the limits. Comes after every other zip-based format
(OFD is a zip too): PRIORITY 200.
"""

from __future__ import annotations

import sys

from fapiao.findings import finding
from fapiao.parse import MAX_FILE_BYTES, Parsed
from fapiao.parse.safety import (
    MAX_DEPTH,
    Budget,
    SafeZip,
    Unsafe,
    display_name,
    looks_like_zip,
    office_document,
    packer_file,
)

PRIORITY = 200


def sniff(data: bytes) -> bool:
    """A zip, but not an Office file: that is one document, not walked part by part (a reject for
    each of its XML parts told the user nothing). A workbook that is the platform's export list
    is read by its own format, which comes first; any other is one unsupported file."""
    return looks_like_zip(data) and not office_document(data)


def parse(data: bytes) -> list[Parsed]:
    return _walk(data, depth=1, budget=Budget())


def _walk(data: bytes, *, depth: int, budget: Budget) -> list[Parsed]:
    try:
        zf = SafeZip(data, budget)
    except Unsafe as exc:
        return [Parsed(None, [exc.finding])]
    out: list[Parsed] = []
    for info in zf.infos:
        name = display_name(info)
        if packer_file(name):
            continue
        label = "!" + name
        try:
            member = zf.read(info, limit=MAX_FILE_BYTES)
        except Unsafe as exc:
            out.append(Parsed(None, [exc.finding], label))
            if exc.finding.code == "too_large" and budget.left <= 0:
                break
            continue
        for parsed in _member(member, depth=depth, budget=budget):
            parsed.label = label + parsed.label
            if parsed.original is None:
                parsed.original = member
            out.append(parsed)
    if not out:
        detail, detail_en = "压缩包里没有文件", "the archive holds no files"
        out.append(Parsed(None, [finding("unreadable", detail=detail, detail_en=detail_en)]))
    return out


def _member(data: bytes, *, depth: int, budget: Budget) -> list[Parsed]:
    from fapiao import parse as registry  # the registry imports this module while it loads

    module = registry.detect(data, registry.known_formats())
    if module is None:
        detail, detail_en = "不是 fapiao 能读的发票格式", "not an invoice format fapiao reads"
        return [Parsed(None, [finding("unsupported_format", detail=detail, detail_en=detail_en)])]
    if module is sys.modules[__name__]:
        if depth >= MAX_DEPTH:
            detail = f"压缩包嵌套超过 {MAX_DEPTH} 层"
            detail_en = f"archives nested deeper than {MAX_DEPTH} levels"
            return [Parsed(None, [finding("hostile", detail=detail, detail_en=detail_en)])]
        return _walk(data, depth=depth + 1, budget=budget)
    try:
        return list(module.parse(data))
    except RecursionError:
        return [Parsed(None, [finding("hostile", detail="嵌套过深", detail_en="nesting too deep")])]
    except Exception as exc:  # one member's reader failing must not sink the rest of the archive
        reader, error = module.__name__.rsplit(".", 1)[-1], type(exc).__name__
        detail, detail_en = f"{reader} 无法读取：{error}", f"{reader} could not read it: {error}"
        return [Parsed(None, [finding("unreadable", detail=detail, detail_en=detail_en)])]
