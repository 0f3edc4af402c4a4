"""A PDF that crashes its parser, uploaded through the web, ends the server's parser process, not
the server: that file is answered as unreadable, the others in the same request as usual, and the
server goes on answering and parsing (a fresh parser process)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from fapiao.web import parsing
from tests.conftest import run_cli
from tests.crash_support import crash_on_marked
from tests.proc_support import gone
from tests.test_web_support import Site, sqlite_site

__all__ = ["sqlite_site"]

SAMPLES = sorted((Path(__file__).parent / "data" / "samples" / "pdf").glob("*.pdf"))


def _findings(outcome: dict) -> list[str]:
    return [f["code"] for f in outcome["findings"]]


def test_a_crashing_pdf_upload_leaves_the_server_answering(sqlite_site: Site, monkeypatch) -> None:
    uploads = parsing.ParserProcess(work=crash_on_marked)
    monkeypatch.setattr(parsing, "UPLOADS", uploads)
    s = sqlite_site
    token = run_cli(
        "--db", str(s.ledger.engine.url), "user", "token", "accountant_a",
        check=True, env={"FAPIAO_USER": "admin_a"},
    ).stdout.strip()  # fmt: skip
    api = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    files = [
        ("files", ("good.pdf", SAMPLES[0].read_bytes())),
        ("files", ("crash.pdf", SAMPLES[1].read_bytes())),
        ("files", ("also-good.pdf", SAMPLES[2].read_bytes())),
    ]
    try:
        result = api.post("/api/v1/import", files=files)
        assert result.status_code == 200, result.text
        rejected = {o["file"]: o for o in result.json()["rejected"]}
        assert _findings(rejected["crash.pdf"]) == ["unreadable"]
        crashed = rejected["crash.pdf"]["findings"][0]
        assert "崩溃" in crashed["message"] and "crashed" in crashed["message_en"]
        # the others were read (no tenant of this ledger is a party to the samples)
        for name in ("good.pdf", "also-good.pdf"):
            assert "unreadable" not in _findings(rejected[name]), rejected[name]
        assert api.get("/api/v1/me").status_code == 200
        again = api.post("/api/v1/parse", files=[("files", ("p.pdf", SAMPLES[3].read_bytes()))])
        assert again.status_code == 200, again.text
        assert again.json()[0]["number"]
    finally:
        uploads.close()


def test_a_hanging_parser_is_ended_with_its_jobs_budget(tmp_path: Path) -> None:
    """The job's budget runs out while the file is parsed: the wait ends with `Expired` (the
    request answers 503 job_timeout), the stuck parser process is killed, the next parse works."""
    from fapiao import deadline
    from fapiao.ingest import Source
    from tests.crash_support import hang_on_marked

    uploads = parsing.ParserProcess(work=hang_on_marked)
    marker = tmp_path / "hang.pdf"  # the hanging parser writes its process id here
    try:
        (warm,) = uploads.incoming([Source("first.pdf", SAMPLES[1].read_bytes())])
        assert warm and warm[0].invoice is not None  # the parser process is up
        started = time.monotonic()
        with deadline.within(deadline.Budget(2.0)), pytest.raises(deadline.Expired):
            uploads.incoming([Source(str(marker), SAMPLES[0].read_bytes())])
        assert time.monotonic() - started < 10
        pid = int(marker.read_text())
        assert gone(pid), "the hanging parser process was left running"
        (items,) = uploads.incoming([Source("ok.pdf", SAMPLES[0].read_bytes())])
        assert items and items[0].invoice is not None
    finally:
        uploads.close()
