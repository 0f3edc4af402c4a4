"""What follows an import is one function for the command line and the web: the new invoices are
searchable at once and, when 查验 on receipt is on, the received ones are checked with the real
sandbox authority, whichever way they came in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fapiao.authority.http import HttpConnector
from fapiao.codec import invoice_to_json
from fapiao.ingest import after_import, import_paths
from fapiao.insight.verify import latest
from fapiao.model import Kind
from tests.conftest import write_invoice
from tests.test_verify import sandbox_url  # noqa: F401  (fixture)
from tests.test_web_support import Site, build_site


@pytest.fixture
def web_site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=1)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()


def test_an_upload_is_checked_on_receipt_like_an_import(
    web_site: Site,
    sandbox_url: str,  # noqa: F811
    monkeypatch: Any,
) -> None:
    s = web_site
    monkeypatch.setenv("FAPIAO_AUTHORITY", sandbox_url)
    monkeypatch.setenv("FAPIAO_VERIFY_ON_IMPORT", "1")
    received = s.factory_a.invoice(issued=False, kind=Kind.DIGITAL_SPECIAL)
    issued = s.factory_a.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL)
    with HttpConnector(sandbox_url) as conn:
        conn.upload(received, "r-1")
    b = s.browser()
    b.login("accountant_a")
    token = b.csrf("/upload")
    ids = {}
    for inv in (received, issued):
        body = json.dumps(invoice_to_json(inv), ensure_ascii=False).encode()
        r = b.post(
            "/upload/file", files={"file": ("x.json", body)}, headers={"X-CSRF-Token": token}
        )
        assert r.status_code == 200, r.text
        (imported,) = r.json()["imported"]
        ids[inv.number] = int(imported["id"])
    checked = latest(s.ledger.engine, list(ids.values()))
    assert checked[ids[received.number]]["result"] == "match"
    assert ids[issued.number] not in checked  # issued invoices are not checked on receipt
    found = b.get("/api/v1/invoices", params={"q": received.number}).json()["items"]
    assert [r["number"] for r in found] == [received.number]  # searchable at once

    # the same function after a CLI-style import: an explicit `verify=False` wins over the setting
    again = s.factory_a.invoice(issued=False, kind=Kind.DIGITAL_SPECIAL)
    write_invoice(s.tmp / "in" / "again.json", again)
    summary = import_paths(s.ledger, [s.tmp / "in"])
    assert after_import(s.ledger, summary.imported, "test", verify=False) == []
    reports = after_import(s.ledger, summary.imported, "test")
    assert [o.result for o in reports] == ["not_found"]
