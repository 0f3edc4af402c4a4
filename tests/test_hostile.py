"""Junk and hostile input to every parser found by walking `fapiao.parse`: each answer must be a list
of Parsed carrying a clear finding, within a time bound, never an exception."""

from __future__ import annotations

import importlib
import io
import json
import pkgutil
import random
import time
import tracemalloc
import zipfile
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from types import ModuleType

import pytest

import fapiao.parse
from fapiao.codec import invoice_to_json
from fapiao.ingest import source_formats
from fapiao.parse import Parsed, parse_bytes
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli

SAMPLES = Path(__file__).parent / "data" / "samples"
TIME_LIMIT_S = 10.0


def parsers() -> list[ModuleType]:
    """Every format an import reads: the parse package's and those capabilities add."""
    found = []
    for info in pkgutil.iter_modules(fapiao.parse.__path__):
        module = importlib.import_module(f"fapiao.parse.{info.name}")
        if callable(getattr(module, "sniff", None)) and callable(getattr(module, "parse", None)):
            found.append(module)
    assert set(found) <= set(source_formats())
    return [*found, *(m for m in source_formats() if m not in found)]


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><EInvoice>&lol9;</EInvoice>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<EInvoice><Header><EIid>&x;</EIid></Header></EInvoice>"
)
PARAM_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
    b"<eInvoice/>"
)
UTF16_DTD = (
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE e [<!ENTITY a "b">]><EInvoice>&a;</EInvoice>'
).encode("utf-16")
ZIP_BOMB = zipped({"bomb.xml": b"\x00" * (20 * 1024 * 1024)})
MANY_MEMBERS = zipped({f"m{i}.txt": b"" for i in range(6_000)}, zipfile.ZIP_STORED)
TRAVERSALS = [zipped({name: b"x"}) for name in ("../evil.xml", "/etc/evil.xml", "a\\..\\b.xml")]
NESTED = zipped({"a.zip": zipped({"b.zip": zipped({"c.zip": zipped({"d.xml": b"<x/>"})})})})


def encrypted_zip() -> bytes:
    data = bytearray(zipped({"secret.xml": b"<EInvoice/>"}, zipfile.ZIP_STORED))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the encryption flag in both headers
        at = data.find(sig)
        flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
        data[flag_at] |= 0x1
    return bytes(data)


def truncated_samples(suffixes: tuple[str, ...] = (".ofd", ".xml", ".xlsx", ".csv")) -> list[bytes]:
    out = []
    for path in sorted(SAMPLES.glob("*/*")):
        if path.suffix in suffixes:
            data = path.read_bytes()
            out += [data[: len(data) // 2], data[:-30]]
    return out


rng = random.Random(3)
JUNK: list[bytes] = [
    b"",
    b"\x00",
    b"\x00" * 100_000,
    bytes(rng.randrange(256) for _ in range(4096)),
    b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(2048)),
    b"<",
    b"<?xml",
    b"<EInvoice>" * 1000,
    b"<" * 50_000 + b">",
    b"{" * 10_000,
    "发票".encode() * 1000,
    BILLION_LAUGHS,
    XXE,
    PARAM_ENTITY,
    UTF16_DTD,
    ZIP_BOMB,
    MANY_MEMBERS,
    *TRAVERSALS,
    NESTED,
    encrypted_zip(),
    *truncated_samples(),
]
_pool = ThreadPoolExecutor(max_workers=1)


def bounded(module: ModuleType, data: bytes) -> list[Parsed]:
    started = time.perf_counter()
    future = _pool.submit(module.parse, data)
    try:
        result = future.result(timeout=TIME_LIMIT_S)
    except FutureTimeout:
        pytest.fail(f"{module.__name__}.parse took more than {TIME_LIMIT_S}s")
    assert time.perf_counter() - started < TIME_LIMIT_S
    return result


@pytest.mark.parametrize("module", parsers(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_parser_answers_junk_with_findings(module: ModuleType) -> None:
    # a csv export cut short still holds its whole rows, which the export's reader imports (its
    # cut row rejected: tests/test_import_platform_export.py)
    cut_csv = truncated_samples((".csv",)) if module.__name__.endswith("platform_export") else []
    for index, data in enumerate(JUNK):
        if data in cut_csv:
            continue
        result = bounded(module, data)
        assert isinstance(result, list) and result, (index, result)
        for parsed in result:
            assert isinstance(parsed, Parsed), (index, parsed)
            assert parsed.invoice is None, (module.__name__, index, parsed)
            assert parsed.findings, (module.__name__, index)
            assert all(f.code and f.message and f.message_en for f in parsed.findings)


def test_parsers_are_found_by_walking_the_package() -> None:
    names = {m.__name__.rsplit(".", 1)[-1] for m in parsers()}
    assert {"xml_digital", "xml_edrm", "ofd", "archive"} <= names
    assert not {"safety", "ofd_layout", "ofd_fields", "ofd_crosscheck"} & names


def codes(data: bytes) -> set[str]:
    return {f.code for parsed in parse_bytes(data) for f in parsed.findings}


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("billion laughs", BILLION_LAUGHS, "hostile"),
        ("external entity", XXE, "hostile"),
        ("parameter entity", PARAM_ENTITY, "hostile"),
        ("utf-16 DTD", UTF16_DTD, "hostile"),
        ("zip bomb", ZIP_BOMB, "hostile"),
        ("too many members", MANY_MEMBERS, "too_large"),
        ("dot-dot name", TRAVERSALS[0], "hostile"),
        ("absolute name", TRAVERSALS[1], "hostile"),
        ("backslash name", TRAVERSALS[2], "hostile"),
        ("nested three deep", NESTED, "hostile"),
        ("encrypted member", encrypted_zip(), "unreadable"),
        ("truncated zip", ZIP_BOMB[: len(ZIP_BOMB) // 2], "unreadable"),
        ("binary junk", b"\x7fELF" + b"\x00" * 512, "unsupported_format"),
    ],
    ids=lambda v: "data" if isinstance(v, bytes) else str(v),  # zip bytes hold the time: not ids
)
def test_hostile_input_gets_its_finding(name: str, data: bytes, code: str) -> None:
    assert codes(data) == {code}, name


def test_zip_bomb_stays_small_in_memory() -> None:
    bomb = zipped({f"b{i}.xml": b"\x00" * (8 * 1024 * 1024) for i in range(30)})  # 240 MB inflated
    tracemalloc.start()
    try:
        found = codes(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found <= {"hostile", "too_large"} and found
    assert peak < 32 * 1024 * 1024


def test_reads_stop_at_the_byte_limit_and_the_shared_budget() -> None:
    from fapiao.parse.safety import Budget, SafeZip, Unsafe

    data = zipped({"a.xml": b"a" * 500_000, "b.xml": b"b" * 500_000})
    with pytest.raises(Unsafe) as caught:
        SafeZip(data).read("a.xml", limit=100_000)
    assert caught.value.finding.code == "too_large"
    budget = Budget(left=2_000_000)
    SafeZip(data, budget).read("a.xml")
    assert budget.left == 1_500_000
    with pytest.raises(Unsafe) as declared:
        SafeZip(data, budget=Budget(left=600_000))
    assert declared.value.finding.code == "too_large"


def test_a_rejected_file_says_why_in_chinese_and_in_english(tmp_path: Path) -> None:
    """`fapiao import` of files a clerk may meet (empty, cut short, a zip bomb, junk, JSON whose
    items are not a list or whose tax has three decimals): each is rejected with its reason in both
    languages, not an English reason behind a Chinese prefix."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "cut.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    (folder / "bomb.zip").write_bytes(ZIP_BOMB)
    (folder / "junk.bin").write_bytes(b"\x7fELF" + b"\x00" * 64)
    doc = invoice_to_json(InvoiceFactory(seed=3).invoice())
    (folder / "items.json").write_text(json.dumps({**doc, "items": "见附件"}), encoding="utf-8")
    (folder / "amount.json").write_text(json.dumps({**doc, "tax": "1.005"}), encoding="utf-8")
    db = str(tmp_path / "l.sqlite")
    run_cli(
        "--db", db, "tenant", "add", "--tax-id", "91320594769869645C", "--name", "甲", check=True
    )
    out = run_cli("--db", db, "import", str(folder), "--json")
    assert out.returncode == 1, out.stderr
    rejected = {Path(o["file"]).name: o["findings"] for o in json.loads(out.stdout)["rejected"]}
    expected = {  # file: (code, in the Chinese message, in the English one)
        "empty.pdf": ("unreadable", "文件为空", "empty"),
        "cut.pdf": ("unreadable", "PDF 已损坏", "broken PDF"),
        "bomb.zip": ("hostile", "压缩炸弹", "zip bomb"),
        "junk.bin": ("unsupported_format", "发票格式", "format"),
        "items.json": ("field_invalid", "不是列表", "not a list"),
        "amount.json": ("field_invalid", "小数超过两位", "more than two decimals"),
    }
    assert sorted(rejected) == sorted(expected)
    for name, (code, zh, en) in expected.items():
        (f,) = [f for f in rejected[name] if f["code"] == code]
        assert zh in f["message"] and en in f["message_en"], f
