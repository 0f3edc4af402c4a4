"""/metrics scraped from a real server and read with prometheus_client's own parser: imports and
rejects by finding code, parse time by format, outbox depth and age, breaker state, authority calls
by outcome and latency, backup age and size, drill result, tickets and the last self-check."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fapiao.authority import errors
from fapiao.authority.http import HttpConnector
from fapiao.backup.tables import record_runs
from fapiao.codec import invoice_to_json
from fapiao.ops.checks import run_checks
from fapiao.ops.history import record_run
from fapiao.ops.probe import make_probe
from fapiao_dev.sandbox.run import SandboxThread
from tests.test_web_support import Site, site

__all__ = ["site"]


def scrape(url: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    resp = httpx.get(url + "/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    out: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(resp.text):
        out[family.name] = [(s.name, s.labels, s.value) for s in family.samples]
    return out


def value(m: dict, family: str, sample: str | None = None, **labels: str) -> float:
    found = [
        v
        for name, ls, v in m.get(family, [])
        if (sample is None or name == sample) and all(ls.get(k) == x for k, x in labels.items())
    ]
    assert found, f"{family} {sample} {labels} not in {m.get(family)}"
    return sum(found)


def test_metrics_are_scraped_and_parsed(site: Site, tmp_path: Path) -> None:
    before = scrape(site.url)
    b = site.browser()
    b.login("accountant_a")
    token = b.csrf("/upload")
    good = json.dumps(invoice_to_json(site.factory_a.invoice()), ensure_ascii=False).encode()
    for name, body in (("good.json", good), ("notes.txt", b"meeting notes")):
        r = b.post("/upload/file", files={"file": (name, body)}, headers={"X-CSRF-Token": token})
        assert r.status_code == 200

    with SandboxThread(tmp_path / "sb") as sb, HttpConnector(sb.url) as conn:
        assert conn.health()
        conn.get(site.factory_a.invoice().identity)  # 404 at the platform: answered, not found
    # nothing listens on the discard port
    with HttpConnector("http://127.0.0.1:9") as dead, pytest.raises(errors.Unavailable):
        dead.health()

    record_runs(
        site.ledger,
        "backup",
        [
            {
                "target": "/b",
                "snapshot_id": "s",
                "ok": True,
                "detail": {"plain_bytes": 2048, "stored_bytes": 512},
            }
        ],
    )
    record_runs(
        site.ledger, "drill", [{"target": "/b", "snapshot_id": "s", "ok": False, "detail": {}}]
    )
    probe = make_probe(None, engine=site.ledger.engine)
    record_run(site.ledger, run_checks(probe), source="cli")

    m = scrape(site.url)
    imported = value(m, "fapiao_imports", "fapiao_imports_total", outcome="imported")
    assert (
        imported - value(before, "fapiao_imports", "fapiao_imports_total", outcome="imported") == 1
    )
    assert value(m, "fapiao_rejects", "fapiao_rejects_total", code="unsupported_format") >= 1
    assert value(m, "fapiao_quarantined", code="unsupported_format") == 1  # read from the ledger
    assert (
        value(m, "fapiao_parse_seconds", "fapiao_parse_seconds_count", format="canonical_json") >= 1
    )
    assert value(m, "fapiao_invoices") == len(site.a_ids) + len(site.b_ids) + 1
    assert value(m, "fapiao_outbox_depth", state="pending") == len(site.a_ids) + len(site.b_ids) + 1
    assert value(m, "fapiao_outbox_oldest_age_seconds") >= 0
    assert value(m, "fapiao_breaker_state", state="closed") == 1
    assert (
        value(
            m,
            "fapiao_authority_calls",
            "fapiao_authority_calls_total",
            endpoint="/api/v1/health",
            outcome="ok",
        )
        >= 1
    )
    assert (
        value(m, "fapiao_authority_calls", "fapiao_authority_calls_total", outcome="unreachable")
        >= 1
    )
    assert (
        value(
            m,
            "fapiao_authority_calls",
            "fapiao_authority_calls_total",
            endpoint="/api/v1/invoices/{id}",
            outcome="rejected",
        )
        >= 1
    )
    assert (
        value(
            m, "fapiao_authority_call_seconds", "fapiao_authority_call_seconds_count", outcome="ok"
        )
        >= 1
    )
    assert value(m, "fapiao_backup_bytes", kind="stored") == 512
    assert 0 <= value(m, "fapiao_backup_age_seconds") < 600
    assert value(m, "fapiao_drill_ok") == 0
    assert value(m, "fapiao_check_level", check="drill") == 2
    assert value(m, "fapiao_check_level", check="database") == 0
    assert "fapiao_reconcile_findings" in m
    assert (
        value(m, "fapiao_http_requests", "fapiao_http_requests_total", method="POST", status="2xx")
        >= 2
    )


PDF = Path(__file__).parent / "data" / "samples" / "pdf" / "digital-normal-petrol-wuxi.pdf"


def test_parse_times_of_child_processes_reach_the_servers_metrics(site: Site) -> None:
    """A PDF upload is parsed in the server's parser process; its parse time is counted on the
    server's /metrics all the same, in the bucket of the time it took."""
    before = scrape(site.url)
    b = site.browser()
    b.login("accountant_a")
    token = b.csrf("/upload")
    r = b.post(
        "/upload/file",
        files={"file": (PDF.name, PDF.read_bytes())},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200
    after = scrape(site.url)

    def count(m: dict, sample: str = "fapiao_parse_seconds_count", **labels: str) -> float:
        wanted = {"format": "pdf", **labels}
        return sum(
            v
            for n, ls, v in m.get("fapiao_parse_seconds", [])
            if n == sample and all(ls.get(k) == x for k, x in wanted.items())
        )

    assert count(after) - count(before) == 1
    took = count(after, "fapiao_parse_seconds_sum") - count(before, "fapiao_parse_seconds_sum")
    assert 0 < took < 30
    # cumulative buckets: the file is in every bucket from the first bound at or above its time
    for bound in ("0.001", "0.1", "10.0", "+Inf"):
        grew = count(after, "fapiao_parse_seconds_bucket", le=bound) - count(
            before, "fapiao_parse_seconds_bucket", le=bound
        )
        assert grew == (1 if took <= float(bound) else 0), bound


def test_an_imports_parser_workers_report_their_parse_times(tmp_path: Path) -> None:
    """An import parses PDFs in worker processes: their parse times are added to the importing
    process's histogram (the one a server running the import serves)."""
    from fapiao.ingest import import_paths
    from fapiao.ledger.db import open_engine
    from fapiao.ledger.store import Ledger
    from fapiao.telemetry.counters import PARSE_SECONDS

    def observed() -> tuple[float, float]:
        samples = {
            s.name: s.value
            for m in PARSE_SECONDS.collect()
            for s in m.samples
            if s.labels.get("format") == "pdf" and s.labels.get("le") in (None, "+Inf")
        }
        return samples.get("fapiao_parse_seconds_count", 0.0), samples.get(
            "fapiao_parse_seconds_sum", 0.0
        )

    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.pdf").write_bytes(PDF.read_bytes() + b"\n%% copy %d\n" % n)
    ledger = Ledger(open_engine(str(tmp_path / "l.sqlite")), actor="test")
    count0, sum0 = observed()
    summary = import_paths(ledger, [folder])
    count1, sum1 = observed()
    assert sum(len(x) for x in (summary.imported, summary.rejected)) == 3  # every file read
    assert count1 - count0 == 3
    assert sum1 > sum0
