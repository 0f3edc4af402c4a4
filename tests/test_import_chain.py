"""The import's audit chain, pinned: the same inputs at the same moment end at the same head.

The import builds its events' payloads around each invoice's canonical JSON rather than encoding
the whole payload (`imports.imported_payload`), makes hashes in the parser process, and may parse
in a second process. None of that may change a byte of what the chain records. With the clock and
the outbox's keys fixed, a small corpus holding every kind of outcome (imported for one tenant or
for two, duplicate, conflict, near duplicate, a warning, rejects, an array file) must end at the
head the straightforward code wrote (recorded below), on SQLite and PostgreSQL, whether parsed
in this process or beside it.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fapiao import ingest
from fapiao.codec import canonical_bytes, canonical_text_with
from fapiao.ingest import import_paths
from fapiao.ledger import audit, schema
from fapiao.ledger import store as ledger_store
from fapiao.ledger.imports import imported_payload
from fapiao.sync import outbox

HOME = ("Y15101070048521988", "成都瑞丰华信贸易有限公司")
CLIENT = ("913301063273783474", "杭州锦程天成信息技术有限公司")  # a second tenant: a buyer of HOME
BASE: dict[str, Any] = {
    "kind": "digital_normal",
    "code": "",
    "number": "25511000000795664299",
    "issue_date": "2025-06-24",
    "seller": {"name": HOME[1], "tax_id": HOME[0]},
    "buyer": {"name": CLIENT[1], "tax_id": CLIENT[0]},
    "amount": "90083.82",
    "tax": "9813.25",
    "total": "99897.07",
    "check_code": "",
    "status": "normal",
    "original": None,
    "items": [
        {"name": "*现代服务*咨询服务", "spec": "", "unit": "次", "quantity": "14",
         "unit_price": "1936.38", "amount": "27109.32", "tax_rate": "0.06", "tax": "1626.56"},
        {"name": "*电子计算机*笔记本电脑", "spec": "", "unit": "台", "quantity": "15",
         "unit_price": "4198.30", "amount": "62974.50", "tax_rate": "0.13", "tax": "8186.69"},
    ],
    "remarks": "",
    "issuer": "刘洋",
}  # fmt: skip

# written by the code before the import built payloads around the invoice's JSON (main, 2026-12-04)
# and pinned again when j.json's rejection got its reason in Chinese (`JSON 第 1 行有误：…`; a
# finding's messages are in the chain): with the English reason back this code gives the old head;
# pinned again when findings named fields in words in Chinese (i.json's 纳税人识别号无效（销方识别号）,
# was `（seller.tax_id）`): with the paths back in the messages this code gives the head before,
# ad5b3ae475b7c3eebff8d3acdf4531a4188cb631ca5fc49db28bab26f5d5e734 (checked)
HEAD = (17, "f6a6ba37a05325a89eabac301faed2efbf079f1a82a75a19a40fdcdf43ccc712")


def variant(number: str, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["number"] = number
    doc.update(changes)
    return doc


def corpus(folder: Path) -> Path:
    other_buyer = {"name": "深圳安元启明文化传媒有限公司", "tax_id": "524403055821478880"}
    files: dict[str, Any] = {
        "a.json": BASE,  # both parties are tenants: recorded twice
        "b.json": variant("25511000000795664301", buyer=other_buyer),
        "c.json": variant("25511000000795664302", buyer=other_buyer),  # near duplicate of b
        "d.json": BASE,  # duplicate of a
        "e.json": variant("25511000000795664299", remarks="改过"),  # conflict with a
        "f.json": variant("25511000000795664303", total="1.00"),  # rejected: sums
        "g.json": variant("25511000000795664304", buyer={"name": "张三", "tax_id": ""}),
        "h.json": [
            variant("25511000000795664305", buyer=other_buyer, remarks="一"),
            variant("25511000000795664306", buyer=other_buyer, remarks="二", issuer="王芳"),
        ],
        "i.json": variant(
            "25511000000795664307",
            seller={"name": "某公司", "tax_id": "91110108MA01ABCD2X"},
            buyer={"name": "某公司", "tax_id": "91310115MA1HXXXX3Y"},
        ),  # no tenant
    }
    folder.mkdir()
    for name, doc in files.items():
        (folder / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (folder / "j.json").write_bytes(b"{not json")
    return folder


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    """One moment for every event, and outbox keys counted instead of drawn."""
    monkeypatch.setattr(ledger_store, "utc_now", lambda: "2026-12-04T12:00:00.000000+00:00")
    counter = itertools.count()  # (the keys as they were drawn when HEAD was recorded)
    monkeypatch.setattr(  # (`new_key` makes its one key here too)
        outbox,
        "new_keys",
        lambda op, count: [f"{op}-{uuid.UUID(int=next(counter)).hex}" for _ in range(count)],
    )


@pytest.mark.parametrize("beside", [False, True], ids=["here", "parser-process"])
def test_the_chain_ends_where_it_always_did(ledger, tmp_path, fixed, monkeypatch, beside):
    if beside:  # the second process parses from the first file on
        monkeypatch.setattr(ingest, "PARALLEL_FROM", 1)
    for tax_id, name in (HOME, CLIENT):
        ledger.add_tenant(tax_id=tax_id, name=name)
    corpus(tmp_path / "in")
    monkeypatch.chdir(tmp_path)  # file names are in the chain: the same wherever the test runs
    folder = "in"
    first = import_paths(ledger, [folder])
    again = import_paths(ledger, [folder])  # every outcome again: nothing new but conflicts
    counts = {k: len(v) for k, v in first.to_json().items()}
    assert counts == {
        "imported": 7, "duplicates": 2, "conflicts": 2, "rejected": 3, "completed": 0
    }  # fmt: skip
    assert {k: len(v) for k, v in again.to_json().items()} == {
        "imported": 0,
        "duplicates": 9,
        "conflicts": 2,
        "rejected": 3,
        "completed": 0,
    }
    with ledger.engine.connect() as conn:
        head = conn.execute(select(schema.ledger_head.c.seq, schema.ledger_head.c.hash)).one()
    assert tuple(head) == HEAD
    assert audit.verify(ledger.engine).ok


@pytest.mark.parametrize(
    "file,findings",
    [
        ("a.json", []),
        ('目录/发票 "引号" \\ 反斜杠.json', [{"code": "near_duplicate", "message": "号码 \u2028"}]),
        ("x" * 300, [{"b": 1, "a": [1, 2]}, {"z": None}]),
    ],
)
def test_the_import_payload_is_the_canonical_encoding(file, findings):
    """`imported_payload` writes exactly what `canonical_bytes` writes of the same payload."""
    doc = canonical_bytes(BASE).decode()
    payload = {
        "row_hash": "ab" * 32,
        "detail_hash": "cd" * 32,
        "file": file,
        "sha256": "ef" * 32,
        "findings": findings,
    }
    expected = canonical_bytes({**payload, "doc": BASE}).decode()
    assert canonical_text_with(payload, {"doc": doc}) == expected
    assert imported_payload("ab" * 32, "cd" * 32, doc, file, findings, "ef" * 32) == expected
