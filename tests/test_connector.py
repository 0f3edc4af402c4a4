"""Connectors: the HTTP connector's error mapping against a real sandbox, the export-file connector."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import time

import pytest

from fapiao.authority import errors
from fapiao.authority.connector import Connector, Operation
from fapiao.authority.files import ExportFileConnector
from fapiao.authority.http import HttpConnector
from fapiao.authority.records import record_from_invoice
from fapiao.model import Identity, Kind
from fapiao_dev.sandbox.run import SandboxThread
from fapiao_dev.synth import InvoiceFactory

EVER = (dt.date(1994, 1, 1), dt.date(2999, 12, 31))


@pytest.fixture
def f() -> InvoiceFactory:
    return InvoiceFactory(seed=9)


@pytest.fixture
def sandbox(tmp_path):
    with SandboxThread(tmp_path / "sb") as sb:
        yield sb


def put(sb, plan):
    import httpx

    httpx.put(sb.url + "/api/v1/faults", json=plan).raise_for_status()


def test_http_connector_speaks_the_protocol(sandbox, f):
    with HttpConnector(sandbox.url, page_size=7) as c:
        assert isinstance(c, Connector)
        invs = [f.invoice() for _ in range(20)]
        receipts = c.send_batch([Operation("upload", i, f"k{n}") for n, i in enumerate(invs)])
        assert [r.outcome for r in receipts] == ["created"] * 20
        assert c.upload(invs[0], "k0").outcome == "replayed"
        assert c.upload(invs[0], "other").outcome == "exists"
        listed = {r.number for r in c.list(f.home.tax_id, *EVER)}  # 3 pages of 7
        assert listed == {i.number for i in invs}
        assert c.get(invs[1].identity).total == invs[1].total
        assert c.get(Identity("", "1" * 20)) is None
        assert set(c.lookup([i.identity for i in invs[:3]])) == {i.identity.key for i in invs[:3]}
        v = c.verify(invs[2].identity, invs[2].issue_date, total=invs[2].total)
        assert v.result == "match" and v.record is not None


def test_refused_connection_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before use: nothing listens there
    with (
        HttpConnector(f"http://127.0.0.1:{port}", timeout=1) as c,
        pytest.raises(errors.Unavailable),
    ):
        c.get(Identity("", "1" * 20))


def test_status_codes_map_to_the_error_family(sandbox, f):
    inv = f.invoice()
    with HttpConnector(sandbox.url, timeout=0.5) as c:
        put(sandbox, {"outages": [{"start_s": 0, "end_s": 30}]})
        with pytest.raises(errors.Unavailable):
            c.upload(inv, "a")
        put(sandbox, {"error_rate": 1.0})
        with pytest.raises(errors.ServerError):
            c.upload(inv, "a")
        put(sandbox, {"rate_limit_per_s": 1})
        c.get(inv.identity)
        with pytest.raises(errors.RateLimited) as limited:
            c.get(inv.identity)
        assert limited.value.retry_after >= 1
        put(sandbox, {"timeout_rate": 1.0, "timeout_hold_s": 2})
        started = time.monotonic()
        with pytest.raises(errors.TimedOut):
            c.upload(inv, "t")
        assert time.monotonic() - started < 1.5
        put(sandbox, {})
        # the timed-out upload was applied: the retry with the same key is a replay
        assert c.upload(inv, "t").outcome == "replayed"
        clash = f.invoice(kind=Kind.DIGITAL_NORMAL)
        c.upload(clash, "c1")
        other = dataclasses.replace(f.invoice(kind=Kind.DIGITAL_NORMAL), number=clash.number)
        with pytest.raises(errors.Conflict):
            c.upload(other, "c2")
        draft = dataclasses.replace(f.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL), number="")
        with pytest.raises(errors.Invalid):
            c.issue(dataclasses.replace(draft, total=draft.total + 1), "bad")
        assert len(c.issue(draft, "good").number) == 20


def test_export_file_connector_is_read_only(tmp_path, f):
    export_file = pytest.importorskip("fapiao.authority.export_file")
    invs = [f.invoice() for _ in range(6)]
    path = tmp_path / "export.xlsx"
    path.write_bytes(export_file.write_export([record_from_invoice(i) for i in invs], "xlsx"))
    c = ExportFileConnector([path])
    assert isinstance(c, Connector)
    assert {r.number for r in c.list(f.home.tax_id, *EVER)} == {i.number for i in invs}
    assert list(c.list("91110000000000000X", *EVER)) == []
    assert c.get(invs[0].identity).total == invs[0].total
    assert c.verify(invs[0].identity, invs[0].issue_date, total=invs[0].total).result == "match"
    assert c.verify(invs[0].identity, invs[0].issue_date, total=1).result == "mismatch"
    assert c.verify(Identity("", "2" * 20), invs[0].issue_date, total=1).result == "not_found"
    with pytest.raises(errors.ReadOnly):
        c.upload(invs[0], "k")


def test_export_file_connector_reports_a_bad_file(tmp_path):
    pytest.importorskip("fapiao.authority.export_file")
    bad = tmp_path / "export.csv"
    bad.write_bytes(b"\x00\x01 not an export")
    c = ExportFileConnector(tmp_path)
    assert c.records == [] and c.findings


def test_a_records_deduction_is_read_and_checked(f):
    """`deduction` (the API list's 勾选) round-trips; a value the protocol does not have makes the
    record unreadable (a ServerError to the connector) rather than a guess."""
    from fapiao.authority.records import RecordError, record_from_json, record_to_json

    rec = dataclasses.replace(
        record_from_invoice(f.invoice()),
        deduct_state="selected",
        deduct_purpose="no_deduct",
        deduct_period="2024-11",
    )
    said = record_to_json(rec)
    assert said["deduction"] == {"state": "selected", "purpose": "no_deduct", "period": "2024-11"}
    assert record_from_json(said) == rec
    assert "deduction" not in record_to_json(record_from_invoice(f.invoice()))
    for bad in ({"state": "maybe"}, {"state": "selected", "period": "202411"}, "selected"):
        with pytest.raises(RecordError):
            record_from_json({**said, "deduction": bad})
