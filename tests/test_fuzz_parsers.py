"""Fuzzing the parsers: mutated real and generated files (bit flips, truncation, splices, XML
edits, zip member edits) through `parse_bytes`, then validation and the canonical JSON, as an import
does. Every input must give a non-empty list of `Parsed`, each with an invoice or findings, within
a per-input time bound; never an exception. `make test` runs a few seconds per target, `make fuzz`
longer (see tests/fuzz_support.py for the budget variables)."""

from __future__ import annotations

import functools
import io
import json
import re
import signal
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from fapiao.codec import invoice_to_json
from fapiao.findings import CATALOG
from fapiao.model import Invoice
from fapiao.parse import Parsed, parse_bytes
from fapiao.validate import Context, validate
from fapiao_dev.samples import invoices, render
from tests.fuzz_support import (
    INPUT_SECONDS,
    ROUND,
    campaign,
    mutate_bytes,
    mutate_xml,
    mutate_zip,
)

SAMPLES = Path(__file__).parent / "data" / "samples"


@functools.cache
def seeds(kind: str) -> tuple[bytes, ...]:
    generated = invoices(3, seed=7)
    if kind == "xml":
        real = sorted((SAMPLES / "xml").glob("*.xml"))
        return tuple(p.read_bytes() for p in real) + tuple(render(i, "xml").data for i in generated)
    if kind == "ofd":
        real = sorted((SAMPLES / "ofd").glob("*.ofd"))
        return tuple(p.read_bytes() for p in real) + tuple(
            render(i, "ofd").data for i in generated[:2]
        )
    if kind == "pdf":
        return tuple(render(i, "pdf").data for i in generated[:2])
    if kind == "json":
        one = json.dumps(invoice_to_json(generated[0]), ensure_ascii=False).encode()
        many = json.dumps([invoice_to_json(i) for i in generated], ensure_ascii=False).encode()
        return (one, many)
    if kind == "zip":
        return (_archive(seeds("xml")[0], seeds("json")[0], seeds("ofd")[0]),)
    if kind == "image":
        return (render(generated[0], "png", variant="clean").data,)
    raise ValueError(kind)


def _archive(*files: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, body in enumerate(files):
            zf.writestr(f"batch/{n}.bin", body)
    return buf.getvalue()


class Hang(Exception):
    pass


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """A parse that runs past the bound is stopped and fails the test (SIGALRM, main thread)."""

    def stop(_sig: int, _frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check(data: bytes) -> list[Parsed]:
    """What an import does with one input, held to the parsers' contract."""
    start = time.monotonic()
    with bounded(INPUT_SECONDS):
        results = parse_bytes(data)
        for parsed in results:
            if parsed.invoice is not None:
                validate(parsed.invoice, Context())
                invoice_to_json(parsed.invoice)
    elapsed = time.monotonic() - start
    assert elapsed < INPUT_SECONDS, f"{elapsed:.1f} s for one input"
    assert isinstance(results, list) and results, "no result at all"
    for parsed in results:
        assert isinstance(parsed, Parsed)
        assert parsed.invoice is not None or parsed.findings, "neither an invoice nor findings"
        assert parsed.invoice is None or isinstance(parsed.invoice, Invoice)
        assert all(f.code in CATALOG and f.message and f.message_en for f in parsed.findings)
    return results


TARGETS: dict[str, Callable[[st.DataObject, bytes], bytes]] = {
    "xml": mutate_xml,
    "json": mutate_xml,  # text edits between > and < rarely apply; bytes edits do
    "ofd": mutate_zip,
    "zip": mutate_zip,
    "pdf": mutate_bytes,
    "image": mutate_bytes,
}


def test_seeds_parse_cleanly() -> None:
    """The unmutated seeds read as invoices, so the mutations start from files that work."""
    for kind in ("xml", "ofd", "pdf", "json", "zip"):
        for data in seeds(kind):
            assert any(p.invoice is not None for p in check(data)), kind


@pytest.mark.parametrize("kind", list(TARGETS))
def test_mutated_inputs_give_findings_not_exceptions(kind: str) -> None:
    mutate = TARGETS[kind]
    pool = seeds(kind)

    def one(data: st.DataObject) -> None:
        mutated = mutate(data, pool[data.draw(st.integers(0, len(pool) - 1), label="seed")])
        for _ in range(data.draw(st.integers(0, 2), label="more mutations")):
            mutated = mutate(data, mutated)
        check(mutated)

    # a scan that still decodes goes through OCR (about a second): smaller rounds
    assert campaign(one, round_size=3 if kind in ("image", "pdf") else ROUND) > 0


def test_ofd_member_cut_inside_a_prefixed_tag() -> None:
    """Found by the fuzzer: Document.xml cut right after `<ofd:` left a tag lxml refuses to
    rename, and the exception sank the import."""
    raw = seeds("ofd")[2]
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    document = members["Doc_0/Document.xml"]
    cut = document.index(b"<ofd:Pub") + len(b"<ofd:")
    members["Doc_0/Document.xml"] = document[:cut]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    check(buf.getvalue())


@pytest.mark.parametrize("digits", [25, 40, 5000])
def test_huge_line_amount_is_a_finding(digits: int) -> None:
    """Found by the API fuzz: a 40-digit line amount made the tax check's Decimal overflow its
    precision, and the exception answered the upload with a 500."""
    raw = (SAMPLES / "xml" / "fapiao-print-anxie-25322000000365404822.xml").read_bytes()
    huge = re.sub(
        rb"(<Amount>)[^<]*(</Amount>)", rb"\g<1>" + b"9" * digits + rb"\g<2>", raw, count=1
    )
    assert huge != raw
    results = check(huge)
    assert all(p.invoice is None or validate(p.invoice, Context()) for p in results)
