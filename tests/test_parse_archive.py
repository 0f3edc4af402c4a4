"""Zip archives: every member by its own format, labelled and with its own original; nesting bounded."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from fapiao.ingest import Source, to_incoming
from fapiao.parse import archive, detect, parse_bytes
from fapiao.validate import Context
from tests.conftest import run_cli

SAMPLES = Path(__file__).parent / "data" / "samples"
OFD = (SAMPLES / "ofd" / "ofdrw-1.ofd").read_bytes()
XML = (SAMPLES / "xml" / "fapiao-print-anyuan-26322000004478296111.xml").read_bytes()


def make_zip(members: dict[str, bytes], *, utf8: bool = True) -> bytes:
    out = io.BytesIO()
    renames = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for index, (name, body) in enumerate(members.items()):
            if not utf8:  # a GBK name without the UTF-8 flag, as Windows tools write it
                raw = name.encode("gbk")
                placeholder = f"{index:0{len(raw)}d}".encode()
                renames[placeholder] = raw
                name = placeholder.decode()
            zf.writestr(name, body)
    data = out.getvalue()
    for placeholder, raw in renames.items():
        data = data.replace(placeholder, raw)
    return data


def test_members_keep_their_own_originals_and_names() -> None:
    data = make_zip({"发票/a.ofd": OFD, "b.xml": XML, "readme.txt": b"hello"})
    assert detect(data) is archive
    results = parse_bytes(data)
    by_label = {p.label: p for p in results}
    assert set(by_label) == {"!发票/a.ofd", "!b.xml", "!readme.txt"}
    assert by_label["!发票/a.ofd"].invoice is not None
    assert by_label["!b.xml"].original == XML
    assert [f.code for f in by_label["!readme.txt"].findings] == ["unsupported_format"]
    incoming = to_incoming(Source("batch.zip", data), Context())
    ofd_in = next(i for i in incoming if i.file == "batch.zip!发票/a.ofd")
    assert ofd_in.sha256 == hashlib.sha256(OFD).hexdigest() and ofd_in.data == OFD


def test_gbk_member_names_are_shown_as_written() -> None:
    [parsed] = parse_bytes(make_zip({"增值税发票.xml": XML}, utf8=False))
    assert parsed.label == "!增值税发票.xml" and parsed.invoice is not None


def test_nested_once_is_read_deeper_is_hostile() -> None:
    inner = make_zip({"b.xml": XML})
    [ok] = parse_bytes(make_zip({"inner.zip": inner}))
    assert ok.invoice is not None and ok.label == "!inner.zip!b.xml" and ok.original == XML
    [deep] = parse_bytes(make_zip({"l2.zip": make_zip({"l3.zip": inner})}))
    assert deep.invoice is None and [f.code for f in deep.findings] == ["hostile"]
    assert deep.label == "!l2.zip!l3.zip"


def test_empty_archive_is_unreadable() -> None:
    [parsed] = parse_bytes(make_zip({}))
    assert parsed.invoice is None and [f.code for f in parsed.findings] == ["unreadable"]


def test_cli_parse_and_import_xml_ofd_and_zip(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.ofd").write_bytes(OFD)
    (folder / "b.xml").write_bytes(XML)
    (folder / "batch.zip").write_bytes(make_zip({"x/a.ofd": OFD, "junk.bin": b"\x00" * 64}))
    parsed = run_cli("parse", str(folder / "batch.zip"), "--json")
    assert parsed.returncode == 1  # the junk member is rejected
    docs = json.loads(parsed.stdout)
    assert [d["file"].split("/in/")[-1] for d in docs] == [
        "batch.zip!x/a.ofd",
        "batch.zip!junk.bin",
    ]
    assert docs[0]["number"] == "83089647" and docs[0]["findings"] == []
    for tax_id, name in (
        ("91320115MA202UKD7X", "江苏京利华新材料有限公司"),
        ("9132020013590404XW", "江苏苏豪天鹏农产品集团有限公司"),
    ):
        run_cli("--db", db_url, "tenant", "add", "--tax-id", tax_id, "--name", name, check=True)
    result = run_cli("--db", db_url, "import", str(folder), "--json")
    summary = json.loads(result.stdout)
    assert result.returncode == 1
    assert sorted(i["number"] for i in summary["imported"]) == ["26322000004478296111", "83089647"]
    assert [d["file"].split("/in/")[-1] for d in summary["duplicates"]] == ["batch.zip!x/a.ofd"]
    assert [r["file"].split("/in/")[-1] for r in summary["rejected"]] == ["batch.zip!junk.bin"]
