"""查验 against the real sandbox server (a `fapiao sandbox` subprocess on a free port): the inputs
each kind needs, 查验 on receipt, an invoice the authority does not know, a mismatch, the daily
limit kept by the ledger and the sandbox's own, and the audit chain they leave."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fapiao.authority.http import HttpConnector
from fapiao.insight.verify import RateLimit, inputs_for, verify_invoices
from fapiao.ledger import audit
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.model import Identity, Kind
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import FAPIAO, run_cli, write_invoice


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [FAPIAO, "sandbox", "--port", str(port), "--data", str(tmp_path / "sb")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("sandbox did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_inputs_follow_the_kind() -> None:
    day = dt.date(2024, 11, 20)
    digital = inputs_for("digital_special", "", "24112000000012345678", day, 10000, 11300, "")
    assert digital is not None and digital.total == 11300 and digital.amount is None
    special = inputs_for(
        "vat_electronic_special", "011002400113", "12345678", day, 10000, 11300, ""
    )
    assert special is not None and special.amount == 10000 and special.identity.code
    normal = inputs_for(
        "vat_electronic_normal",
        "011002400111",
        "12345678",
        day,
        10000,
        11300,
        "1234 5678 9012 3456 7890",
    )
    assert normal is not None and normal.check_code == "567890" and normal.amount is None
    assert inputs_for("vat_normal", "1100224130", "12345678", day, 10000, 11300, "") is None


def test_rate_limit_spaces_requests() -> None:
    rate = RateLimit(20.0)
    start = time.monotonic()
    for _ in range(5):
        rate.wait()
    assert time.monotonic() - start >= 0.19


def _env(db_url: str, url: str) -> dict[str, str]:
    return {"FAPIAO_DB": db_url, "FAPIAO_AUTHORITY": url}


def test_verify_on_receipt_flags_unknown_and_differing_invoices(
    db_url: str, sandbox_url: str, tmp_path: Path
) -> None:
    f = InvoiceFactory(seed=7)
    env = _env(db_url, sandbox_url)
    run_cli("tenant", "add", "--tax-id", f.home.tax_id, "--name", f.home.name, env=env, check=True)
    known = f.invoice(issued=False, kind=Kind.DIGITAL_SPECIAL)
    normal = f.invoice(issued=False, kind=Kind.VAT_ELECTRONIC_NORMAL)
    unknown = f.invoice(issued=False, kind=Kind.DIGITAL_NORMAL)
    shifted = f.invoice(issued=False, kind=Kind.DIGITAL_SPECIAL)
    issued = f.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL)
    with HttpConnector(sandbox_url) as conn:
        for n, inv in enumerate((known, normal, shifted)):
            conn.upload(inv, f"k{n}")
    shifted_copy = dataclasses.replace(
        shifted, issue_date=shifted.issue_date + dt.timedelta(days=1)
    )
    for name, inv in (
        ("known", known),
        ("normal", normal),
        ("unknown", unknown),
        ("shifted", shifted_copy),
        ("issued", issued),
    ):
        write_invoice(tmp_path / "in" / f"{name}.json", inv)
    proc = run_cli("import", str(tmp_path / "in"), "--verify", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    results = {v["key"]: (v["result"], v["fields"]) for v in report["verified"]}
    assert results == {
        known.identity.key: ("match", []),
        normal.identity.key: ("match", []),
        unknown.identity.key: ("not_found", []),
        shifted.identity.key: ("mismatch", ["issue_date"]),
    }  # the issued invoice is not checked on receipt
    flagged = json.loads(run_cli("list", "--json", "--verification", "not_found", env=env).stdout)
    assert [r["number"] for r in flagged] == [unknown.number]
    assert flagged[0]["verification"]["result"] == "not_found"
    shown = json.loads(run_cli("show", unknown.number, "--json", env=env).stdout)
    assert [x["code"] for x in shown["findings"]] == ["verify_not_found"]
    assert shown["verification"]["result"] == "not_found" and shown["verifications"][0]["at"]
    assert "invoice.verified" in [e["action"] for e in shown["events"]]
    differs = json.loads(run_cli("show", shifted.number, "--json", env=env).stdout)
    assert differs["findings"][0]["code"] == "verify_mismatch"
    assert differs["findings"][0]["field"] == "issue_date"
    listed = run_cli("show", known.number, env=env).stdout
    assert "查验 verification" in listed and "match" in listed
    assert audit.verify(open_engine(db_url)).ok


def test_daily_limit_in_the_ledger_and_at_the_sandbox(
    db_url: str, sandbox_url: str, tmp_path: Path
) -> None:
    f = InvoiceFactory(seed=8)
    env = _env(db_url, sandbox_url)
    run_cli("tenant", "add", "--tax-id", f.home.tax_id, "--name", f.home.name, env=env, check=True)
    first = f.invoice(issued=False, kind=Kind.DIGITAL_SPECIAL)
    second = f.invoice(issued=False, kind=Kind.DIGITAL_SPECIAL)
    with HttpConnector(sandbox_url) as conn:
        conn.upload(first, "a")
        conn.upload(second, "b")
    write_invoice(tmp_path / "in" / "1.json", first)
    write_invoice(tmp_path / "in" / "2.json", second)
    ids = {
        o["number"]: o["id"]
        for o in json.loads(run_cli("import", str(tmp_path / "in"), "--json", env=env).stdout)[
            "imported"
        ]
    }
    one = ids[first.number]
    led = Ledger(open_engine(db_url))
    with HttpConnector(sandbox_url) as conn:
        got = verify_invoices(led, conn, [int(one)] * 5, rate=RateLimit(50))
    assert [o.result for o in got] == ["match"] * 5
    sixth = run_cli("verify", one, "--json", env=env)
    assert sixth.returncode == 1
    assert json.loads(sixth.stdout)[0]["result"] == "skipped"
    assert "daily limit" in json.loads(sixth.stdout)[0]["reason"]
    # the sandbox keeps its own count: five checks from elsewhere use up the second invoice's day
    with HttpConnector(sandbox_url) as conn:
        for _ in range(5):
            res = conn.verify(Identity("", second.number), second.issue_date, total=second.total)
            assert res.result == "match"
    limited = json.loads(run_cli("verify", ids[second.number], "--json", env=env).stdout)
    assert limited[0]["result"] == "limited" and "daily_limit" in limited[0]["reason"]
    shown = json.loads(run_cli("show", second.number, "--json", env=env).stdout)
    assert shown["verification"]["result"] == "limited" and not shown["findings"]
    # bulk by filters: only invoices without an answer; the first is at its limit anyway
    bulk = json.loads(run_cli("verify", "--unverified", "--json", env=env).stdout)
    assert [b["key"] for b in bulk] == [second.number]
    assert audit.verify(open_engine(db_url)).ok


def test_verify_needs_an_authority(db_url: str) -> None:
    proc = run_cli("verify", "--json", env={"FAPIAO_DB": db_url, "FAPIAO_AUTHORITY": ""})
    assert proc.returncode == 2 and "--authority" in proc.stderr
