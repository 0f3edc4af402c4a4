"""Mutations of real and generated invoice files for the fuzz tests, as hypothesis strategies:
bit flips, truncation, splices, XML edits (text values, elements dropped, doubled or renamed,
a DOCTYPE put in front), and zip member edits (a member mutated, dropped or doubled) for OFD and
archives; and the budget (`FAPIAO_FUZZ_EXAMPLES`, `FAPIAO_FUZZ_SECONDS` per target,
`FAPIAO_FUZZ_INPUT_SECONDS` per input) that `make test` keeps small and `make fuzz` raises.
"""

from __future__ import annotations

import io
import os
import re
import time
import warnings
import zipfile
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FAPIAO_FUZZ_EXAMPLES", "30"))
SECONDS = float(os.environ.get("FAPIAO_FUZZ_SECONDS", "4"))
INPUT_SECONDS = float(os.environ.get("FAPIAO_FUZZ_INPUT_SECONDS", "20"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # each input is bounded by `bounded` instead; a slow machine must not flake
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FAPIAO_FUZZ_RANDOM") is None,  # make test: the same inputs each run
    database=None,
)


class Budget:
    """Wall-clock budget of one fuzz target: once spent, the remaining examples are still drawn
    (hypothesis needs its draws to replay the same way) but no longer run, unless one has failed,
    so that shrinking the failure runs them all."""

    def __init__(self, seconds: float = SECONDS) -> None:
        self.seconds = seconds
        self.start: float | None = None
        self.failing = False
        self.ran = 0

    def run(self, work: Callable[[], object]) -> None:
        now = time.monotonic()
        if self.start is None:
            self.start = now
        if now - self.start >= self.seconds and not self.failing:
            return
        self.ran += 1
        try:
            work()
        except BaseException:
            self.failing = True
            raise


ODD_TEXT = [
    "",
    " ",
    "-1",
    "-0.00",
    "9" * 40,
    "1e309",
    "NaN",
    "Infinity",
    "0x1F",
    "１２３．４５",
    "2024-13-40",
    "2024-02-30",
    "0000-00-00",
    "99999999-99-99",
    "***",
    "*",
    "免税",
    "13%",
    "0.1300000000000000000000001",
    "壹佰圆整",
    "（负数）壹圆",
    "\u202e\u200b",
    "𠀀" * 8,
    "&amp;&lt;",
    "<![CDATA[]]>",
    "x" * 5000,
    "01,32,,25322000000365404822,250.00,20250808,,ABCD,",
    "01,99,,,,,,,",
]


def _xml_text(data: st.DataObject, raw: bytes) -> bytes:
    texts = [m.span(1) for m in re.finditer(rb">([^<>]{0,200})<", raw)]
    if not texts:
        return raw
    start, end = data.draw(st.sampled_from(texts))
    value = data.draw(st.sampled_from(ODD_TEXT) | st.text(max_size=40)).encode("utf-8", "replace")
    return raw[:start] + value + raw[end:]


def _xml_element(data: st.DataObject, raw: bytes) -> bytes:
    spans = [m.span() for m in re.finditer(rb"<([A-Za-z][\w:.-]{0,60})>[^<]{0,200}</\1>", raw)]
    if not spans:
        return raw
    start, end = data.draw(st.sampled_from(spans))
    how = data.draw(st.sampled_from(["drop", "double", "rename", "nest"]))
    piece = raw[start:end]
    if how == "drop":
        return raw[:start] + raw[end:]
    if how == "double":
        return raw[:end] + piece + raw[end:]
    if how == "rename":
        return raw[:start] + re.sub(rb"^<([\w:.-]+)>", b"<Renamed>", piece) + raw[end:]
    depth = data.draw(st.integers(1, 300))
    return raw[:start] + b"<n>" * depth + piece + b"</n>" * depth + raw[end:]


def _xml_doctype(data: st.DataObject, raw: bytes) -> bytes:
    decl = data.draw(
        st.sampled_from(
            [
                b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
                b'<!DOCTYPE r SYSTEM "file:///etc/passwd">',
                b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>',
            ]
        )
    )
    head = re.match(rb"\s*<\?xml[^>]*\?>", raw)
    cut = head.end() if head else 0
    return raw[:cut] + decl + raw[cut:]


def _flip(data: st.DataObject, raw: bytes) -> bytes:
    if not raw:
        return raw
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(out) - 1))
        out[pos] ^= 1 << data.draw(st.integers(0, 7))
    return bytes(out)


def _truncate(data: st.DataObject, raw: bytes) -> bytes:
    return raw[: data.draw(st.integers(0, max(0, len(raw) - 1)))]


def _splice(data: st.DataObject, raw: bytes) -> bytes:
    pos = data.draw(st.integers(0, len(raw)))
    how = data.draw(st.sampled_from(["insert", "delete", "repeat"]))
    if how == "insert":
        return raw[:pos] + data.draw(st.binary(min_size=1, max_size=64)) + raw[pos:]
    end = data.draw(st.integers(pos, min(len(raw), pos + 4096)))
    if how == "delete":
        return raw[:pos] + raw[end:]
    return raw[:end] + raw[pos:end] * data.draw(st.integers(1, 50)) + raw[end:]


BYTES: list[Callable[[st.DataObject, bytes], bytes]] = [_flip, _truncate, _splice]
XML = [_xml_text, _xml_text, _xml_element, _xml_doctype]


def mutate_bytes(data: st.DataObject, raw: bytes) -> bytes:
    return data.draw(st.sampled_from(BYTES))(data, raw)


def mutate_xml(data: st.DataObject, raw: bytes) -> bytes:
    return data.draw(st.sampled_from(XML + BYTES))(data, raw)


def mutate_zip(data: st.DataObject, raw: bytes) -> bytes:
    """A member edited (as XML when it is XML), dropped, doubled or renamed; or the zip's bytes."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = [(i, zf.read(i)) for i in zf.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError):
        return mutate_bytes(data, raw)
    if not members or data.draw(st.integers(0, 4)) == 0:
        return mutate_bytes(data, raw)
    index = data.draw(st.integers(0, len(members) - 1))
    info, body = members[index]
    how = data.draw(st.sampled_from(["edit", "edit", "edit", "drop", "double", "rename"]))
    if how == "edit":
        edit = mutate_xml if info.filename.lower().endswith(".xml") else mutate_bytes
        members[index] = (info, edit(data, body))
    elif how == "drop":
        del members[index]
    elif how == "double":
        members.append((info, body))
    else:
        name = data.draw(st.sampled_from(["../../evil.xml", "/abs.xml", "a" * 300, "Doc_0/"]))
        members[index] = (zipfile.ZipInfo(name), body)
    return _zip(members)


def _zip(members: list[tuple[Any, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, body in members:
            with_name = zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0))
            with_name.compress_type = zipfile.ZIP_DEFLATED
            with warnings.catch_warnings():  # duplicate names are the point
                warnings.simplefilter("ignore")
                zf.writestr(with_name, body)
    return buf.getvalue()
