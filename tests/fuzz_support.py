"""Mutations of real and generated invoice files for the fuzz tests, as hypothesis strategies:
bit flips, truncation, splices, XML edits (text values, elements dropped, doubled or renamed,
a DOCTYPE put in front), and zip member edits (a member mutated, dropped or doubled) for OFD and
archives; and the budget that `make test` keeps small and `make fuzz` raises:
`FAPIAO_FUZZ_SECONDS` and `FAPIAO_FUZZ_EXAMPLES` per target, `FAPIAO_FUZZ_INPUT_SECONDS` per input,
`FAPIAO_FUZZ_RANDOM` set for new inputs on each run.
"""

from __future__ import annotations

import io
import os
import random
import re
import time
import warnings
import zipfile
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FAPIAO_FUZZ_EXAMPLES", "30"))
SECONDS = float(os.environ.get("FAPIAO_FUZZ_SECONDS", "4"))
INPUT_SECONDS = float(os.environ.get("FAPIAO_FUZZ_INPUT_SECONDS", "20"))

RANDOM = os.environ.get("FAPIAO_FUZZ_RANDOM") is not None  # make fuzz: new inputs each run
ROUND = 10  # examples per hypothesis run; the budget is checked between runs

SETTINGS = settings(
    deadline=None,  # each input is bounded by the tests themselves; a slow machine must not flake
    suppress_health_check=list(HealthCheck),
    database=None,
)


def campaign(
    body: Callable[[st.DataObject], object],
    *,
    seconds: float = SECONDS,
    examples: int = EXAMPLES,
    round_size: int = ROUND,
) -> int:
    """Runs `body` under hypothesis in rounds of `round_size` examples, each round with its own
    seed (0, 1, 2 … in `make test`, so every run tries the same inputs; random under `make fuzz`),
    until `examples` have run or `seconds` have passed (the first round always runs). A failure
    is shrunk and reported with the seed that reproduces it. Returns the examples asked for."""
    base = random.randrange(2**32) if RANDOM else 0
    start = time.monotonic()
    ran = rounds = 0
    while ran < examples and (rounds == 0 or time.monotonic() - start < seconds):
        size = min(round_size, examples - ran)
        test = seed(base + rounds)(settings(SETTINGS, max_examples=size)(given(st.data())(body)))
        test()
        ran += size
        rounds += 1
    return ran


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
    except Exception:  # an earlier mutation broke the zip itself: mutate its bytes instead
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
