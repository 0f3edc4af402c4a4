"""One upload must never freeze the server: a real `fapiao serve` on a loopback port keeps answering
`/healthz` while a large reconcile runs, stops promptly on SIGTERM in the middle of one, refuses an
orders xlsx bomb fast without filling its memory, refuses uploads over the byte caps with 413, and
leaves no `fapiao-reconcile-*` folders behind."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from fapiao.auth import users as auth
from fapiao.authority.export_file import write_export
from fapiao.contingency.orders import read_table
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.model import AuthorityRecord, Kind, Party
from tests.conftest import FAPIAO
from tests.proc_support import children_of, command_line, cpu_seconds, ended, gone
from tests.test_web_support import PASSWORD, Browser, free_port

HOME = Party("示范科技有限公司", "91110108MA0TL7K20Q")
BUYER = Party("上海示范物流有限公司", "91310115MA1HT6W455")
FINDINGS = 20_000  # the report of the code before the fix took minutes for this many


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    tenant: int
    tmpdir: Path
    err: Path
    token: str

    def browser(self) -> Browser:
        b = Browser(self.url)
        assert b.login("clerk").status_code == 303
        return b

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def serve(tmp: Path, **env: str) -> Served:
    db = tmp / "ledger.sqlite"
    engine = open_engine(db)
    ledger = Ledger(engine, actor="test")
    tenant, _ = ledger.add_tenant(tax_id=HOME.tax_id, name=HOME.name)
    auth.add_user(ledger, name="clerk", password=PASSWORD, role="accountant", tenants=[str(tenant)])
    token = auth.create_token(ledger, "clerk", "test")
    engine.dispose()
    tmpdir = tmp / "tmp"
    tmpdir.mkdir()
    port = free_port()
    err = tmp / "server.err"
    full_env = {
        **os.environ,
        "TMPDIR": str(tmpdir),
        "FAPIAO_COOKIE_SECURE": "0",
        "FAPIAO_CHECK_FIRST_DELAY_S": "3600",
        "FAPIAO_LOG_LEVEL": "warning",
        "PYTHONWARNINGS": "ignore",
        **env,
    }
    proc = subprocess.Popen(
        [FAPIAO, "--db", str(db), "serve", "--port", str(port)],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=err.open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Served(proc, url, int(tenant), tmpdir, err, token)
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(err.read_text())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = serve(tmp_path, FAPIAO_WEB_SHUTDOWN_S="2")
    try:
        yield s
    finally:
        s.stop()


def big_export(n: int) -> bytes:
    """The platform's export (csv) with `n` invoices the empty ledger lacks: n findings."""
    import datetime as dt

    day = dt.date(2024, 6, 1)
    records = (
        AuthorityRecord(
            code="",
            number=f"2411{i:016d}",
            kind=Kind.DIGITAL_SPECIAL,
            issue_date=day + dt.timedelta(days=i % 28),
            seller=HOME,
            buyer=BUYER,
            amount=10000 + i,
            tax=1300,
            total=11300 + i,
        )
        for i in range(n)
    )
    return write_export(records, "csv")


def post_reconcile(b: Browser, tenant: int, body: bytes, **form: str) -> httpx.Response:
    token = b.csrf("/reconcile")
    b.http.timeout = httpx.Timeout(600)
    return b.post(
        "/reconcile",
        data={"tenant": str(tenant), "csrf": token, **form},
        files={"export": ("export.csv", body, "text/csv")},
    )


def in_background(fn, *args):  # type: ignore[no-untyped-def]
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except Exception as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def reconcile_folders(s: Served) -> list[Path]:
    return sorted(s.tmpdir.glob("fapiao-reconcile-*"))


# --- the event loop stays free --------------------------------------------------------------------


def test_healthz_answers_within_a_second_while_a_large_reconcile_runs(served: Served) -> None:
    b = served.browser()
    thread, box = in_background(post_reconcile, b, served.tenant, big_export(FINDINGS))
    latencies = []
    while thread.is_alive():
        started = time.perf_counter()
        try:
            ok = httpx.get(served.url + "/healthz", timeout=5).status_code == 200
        except httpx.TimeoutException:
            ok = False
        latencies.append((ok, time.perf_counter() - started))
        time.sleep(0.2)
    thread.join()
    assert "error" not in box, box
    resp = box["value"]
    assert resp.status_code == 200, resp.text[:500]  # type: ignore[union-attr]
    assert f'id="count-missing_in_ledger">{FINDINGS}<' in resp.text  # type: ignore[union-attr]
    assert len(latencies) >= 5, latencies  # the reconcile really ran while we asked
    assert all(ok for ok, _ in latencies), latencies
    assert max(s for _, s in latencies) < 1.0, sorted(s for _, s in latencies)[-5:]
    # the report holds every finding, streamed to the client from its folder
    rid = resp.text.split("/reconcile/report/")[1].split(".xlsx")[0]  # type: ignore[union-attr]
    book = load_workbook(io.BytesIO(b.get(f"/reconcile/report/{rid}.xlsx").content), read_only=True)
    assert sum(1 for _ in book["账簿缺失"].iter_rows(values_only=True)) == FINDINGS + 1
    # the upload itself is gone; the folder keeps only the reports
    [folder] = reconcile_folders(served)
    assert sorted(p.name for p in folder.iterdir()) == ["owner", "report.html", "report.xlsx"]


def test_sigterm_during_a_long_job_stops_the_server_within_seconds(served: Served) -> None:
    b = served.browser()
    thread, _box = in_background(post_reconcile, b, served.tenant, big_export(FINDINGS))
    time.sleep(3.0)  # the upload is in and the job is running
    assert thread.is_alive()
    [child] = job_children(served.proc.pid)
    sent = time.monotonic()
    served.proc.send_signal(signal.SIGTERM)
    try:
        served.proc.wait(12)
    except subprocess.TimeoutExpired:
        pytest.fail("the server was still running 12 s after SIGTERM")
    assert time.monotonic() - sent < 12
    assert reconcile_folders(served) == []  # its report folders leave with it
    assert gone(child)  # and the job's process too


# --- the job's own process ------------------------------------------------------------------------


def job_children(pid: int) -> list[int]:
    """The processes that run the server's jobs: children of its fork server (a child of the
    server's started by multiprocessing's forkserver)."""
    return [
        job
        for child in children_of(pid)
        if b"forkserver" in command_line(child)
        for job in children_of(child)
    ]


def wait_for_job_child(pid: int) -> int:
    """The one job process that stays: the fork server's first fork (its warm-up) ends at once."""
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, "no job process appeared"
        seen = set(job_children(pid))
        time.sleep(0.2)
        staying = [child for child in job_children(pid) if child in seen and not ended(child)]
        if staying:
            [child] = staying
            return child


def test_the_reconcile_runs_in_a_child_process_killed_on_overrun_and_with_its_server(
    tmp_path: Path,
) -> None:
    s = serve(tmp_path, FAPIAO_WEB_JOB_BUDGET_S="2")
    try:
        b = s.browser()
        thread, box = in_background(post_reconcile, b, s.tenant, big_export(FINDINGS))
        child = wait_for_job_child(s.proc.pid)
        assert child != s.proc.pid
        thread.join(60)
        over = box["value"]
        assert over.status_code == 503 and "任务超过 2 秒的时限" in over.text  # type: ignore[union-attr]
        assert gone(child)  # the overrun killed the child, and the server still answers
        assert httpx.get(s.url + "/healthz", timeout=5).status_code == 200
        assert reconcile_folders(s) == []
        # a server killed outright (no shutdown, no cleanup) takes its job's process with it
        thread, box = in_background(post_reconcile, b, s.tenant, big_export(FINDINGS))
        child = wait_for_job_child(s.proc.pid)
        s.proc.kill()
        s.proc.wait(10)
        assert gone(child)
    finally:
        s.stop()


# --- temp folders ---------------------------------------------------------------------------------


def test_reconcile_folders_are_removed_on_failure_on_expiry_and_at_shutdown(
    tmp_path: Path,
) -> None:
    s = serve(tmp_path, FAPIAO_WEB_REPORT_TTL_S="2")
    try:
        b = s.browser()
        small = big_export(3)
        bad = post_reconcile(b, s.tenant, small, period="2024-13")
        assert bad.status_code == 422
        assert reconcile_folders(s) == []  # a failed run leaves nothing
        assert post_reconcile(b, s.tenant, small).status_code == 200
        [first] = reconcile_folders(s)
        time.sleep(3)
        assert post_reconcile(b, s.tenant, small).status_code == 200
        [second] = reconcile_folders(s)
        assert second != first and not first.exists()  # expired folders go
        s.proc.send_signal(signal.SIGTERM)
        s.proc.wait(15)
        assert reconcile_folders(s) == []
    finally:
        s.stop()


# --- byte caps ------------------------------------------------------------------------------------


def test_uploads_over_the_request_cap_get_413_in_both_languages(tmp_path: Path) -> None:
    s = serve(tmp_path, FAPIAO_WEB_MAX_REQUEST_MB="1")
    try:
        headers = {"Authorization": f"Bearer {s.token}"}
        blob = os.urandom(3 * 1024 * 1024)
        with httpx.Client(base_url=s.url, timeout=60, headers=headers) as http:
            declared = http.post("/api/v1/import", files={"files": ("a.xml", blob)})

            def chunks() -> Iterator[bytes]:  # no Content-Length: cut off while streaming
                boundary = b"--x\r\n"
                yield (
                    boundary
                    + b'Content-Disposition: form-data; name="files"; filename="b.xml"\r\n\r\n'
                )
                for i in range(0, len(blob), 65536):
                    yield blob[i : i + 65536]
                yield b"\r\n--x--\r\n"

            streamed = http.post(
                "/api/v1/import",
                content=chunks(),
                headers={"Content-Type": "multipart/form-data; boundary=x"},
            )
            assert http.get("/healthz").status_code == 200
        for resp in (declared, streamed):
            assert resp.status_code == 413, resp.text[:300]
            err = resp.json()["error"]
            assert err["code"] == "too_large"
            assert "1 MB" in err["message"] and "上传过大" in err["message"]
            assert "1 MB per request" in err["message_en"]
        page = post_reconcile(s.browser(), s.tenant, blob)
        assert page.status_code == 413
        assert "上传过大" in page.text and "upload too large" in page.text
    finally:
        s.stop()


def test_an_orders_file_over_its_own_cap_gets_413(served: Served) -> None:
    b = served.browser()
    token = b.csrf(f"/contingency/orders?tenant={served.tenant}")
    big = (
        b"order_no,counterparty_name,order_date,total\r\n" + b"A,B,2024-01-01,1.00\r\n" * 1_100_000
    )
    resp = b.post(
        "/contingency/orders",
        data={"tenant": str(served.tenant), "csrf": token},
        files={"file": ("orders.csv", big, "text/csv")},
    )
    assert resp.status_code == 413
    assert "文件过大：每个文件最多 20 MB" in resp.text
    b.cookies["fapiao_lang"] = "en"
    resp = b.post(
        "/contingency/orders",
        data={"tenant": str(served.tenant), "csrf": token},
        files={"file": ("orders.csv", big, "text/csv")},
    )
    assert resp.status_code == 413 and "file too large: at most 20 MB per file" in resp.text


# --- orders xlsx bomb -----------------------------------------------------------------------------


def orders_bomb(sheet_bytes: int = 146_000_000) -> bytes:
    """A small xlsx whose one sheet inflates to `sheet_bytes` of rows."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["订单号", "客户名称", "订单日期", "含税金额"])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                row = b'<row><c t="inlineStr"><is><t>A1</t></is></c><c><v>1</v></c></row>'
                head, tail = data.split(b"</sheetData>")
                data = head + row * (sheet_bytes // len(row)) + b"</sheetData>" + tail
            z.writestr(info.filename, data)
    return out.getvalue()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_an_orders_xlsx_bomb_is_refused_fast_in_bounded_memory(served: Served) -> None:
    bomb = orders_bomb()
    assert len(bomb) < 1_000_000
    b = served.browser()
    token = b.csrf(f"/contingency/orders?tenant={served.tenant}")
    before = peak_rss_mib(served.proc.pid)
    started = time.perf_counter()
    resp = b.post(
        "/contingency/orders",
        data={"tenant": str(served.tenant), "csrf": token},
        files={"file": ("bomb.xlsx", bomb, "application/octet-stream")},
    )
    seconds = time.perf_counter() - started
    assert resp.status_code == 422
    assert "bomb.xlsx" in resp.text and "sheet1.xml" in resp.text and "过大" in resp.text
    assert seconds < 10, seconds
    assert peak_rss_mib(served.proc.pid) - before < 100


def test_read_table_refuses_a_bomb_before_inflating_it() -> None:
    bomb = orders_bomb()
    started = time.perf_counter()
    rows, found = read_table("bomb.xlsx", bomb)
    assert rows == [] and found[0].code in ("too_large", "hostile")
    assert "sheet1.xml" in found[0].message_en
    assert time.perf_counter() - started < 1.0


# --- the pool's size and time budget --------------------------------------------------------------


def test_a_job_over_its_budget_is_stopped_and_a_full_pool_says_busy(tmp_path: Path) -> None:
    s = serve(
        tmp_path, FAPIAO_WEB_JOB_BUDGET_S="2", FAPIAO_WEB_JOBS="1", FAPIAO_WEB_JOB_QUEUE_S="0.5"
    )
    try:
        first, second = s.browser(), s.browser()
        big, small = big_export(FINDINGS), big_export(3)
        thread, box = in_background(post_reconcile, first, s.tenant, big)
        time.sleep(1.0)  # the upload is in and its job holds the only place (for 2 s)
        busy = post_reconcile(second, s.tenant, small)
        assert busy.status_code == 503 and "服务器正在处理其他大任务" in busy.text
        thread.join(60)
        over = box["value"]
        assert over.status_code == 503  # type: ignore[union-attr]
        assert "任务超过 2 秒的时限" in over.text  # type: ignore[union-attr]
        deadline = time.monotonic() + 60  # the stopped job gives its place back
        while (resp := post_reconcile(second, s.tenant, big_export(3))).status_code == 503:
            assert time.monotonic() < deadline, resp.text[:300]
            time.sleep(1)
        assert resp.status_code == 200
        assert len(reconcile_folders(s)) == 1  # the stopped job left no folder
        assert httpx.get(s.url + "/healthz", timeout=5).status_code == 200
    finally:
        s.stop()


def test_a_large_answer_from_the_job_process_arrives_whole() -> None:
    """The server's loop is uvloop's, which leaves the pipe non-blocking: an answer longer than the
    pipe's buffer (a page of many findings) must still arrive whole."""
    import uvloop

    from fapiao.web import jobs

    async def main() -> bytes:
        return await jobs.Pool(size=1, queue_s=1, budget_s=60).run_in_process(bytes, 2_000_000)

    assert uvloop.run(main()) == bytes(2_000_000)


# --- the upload parser's process ------------------------------------------------------------------

SAMPLE_PDF = Path(__file__).parent / "data" / "samples" / "pdf" / "digital-normal-petrol-wuxi.pdf"


def scanned_pdf(pages: int) -> bytes:
    """A PDF of `pages` pictures of a real invoice and no text layer: each page is read by OCR,
    so its parse keeps the parser process busy for seconds."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(SAMPLE_PDF.read_bytes())
    try:
        picture = doc[0].render(scale=2).to_pil().convert("RGB")
    finally:
        doc.close()
    out = io.BytesIO()
    picture.save(out, "PDF", save_all=True, append_images=[picture] * (pages - 1))
    return out.getvalue()


def parser_children(pid: int) -> list[int]:
    """The server's upload parser processes (started by multiprocessing's spawn)."""
    return [c for c in children_of(pid) if b"spawn_main" in command_line(c) and not ended(c)]


def test_killing_the_server_ends_its_upload_parser_mid_parse(tmp_path: Path) -> None:
    """kill -9 of the server while its parser process reads an upload (OCR, in native code):
    the parser process ends with it, instead of parsing on for nobody."""
    s = serve(tmp_path)
    try:
        b = s.browser()
        token = b.csrf("/upload")
        body = scanned_pdf(12)
        thread, box = in_background(
            lambda: b.post(
                "/upload/file",
                files={"file": ("scan.pdf", body)},
                headers={"X-CSRF-Token": token},
            )
        )
        deadline = time.monotonic() + 30
        while not (parsers := parser_children(s.proc.pid)):
            assert time.monotonic() < deadline, "no parser process appeared"
            time.sleep(0.05)
        [parser] = parsers
        while cpu_seconds(parser) < 3.0:  # its start-up is 1-2 s of CPU: then well into the OCR
            assert time.monotonic() < deadline and not ended(parser), "the parser stopped"
            time.sleep(0.05)
        assert thread.is_alive() and not ended(parser), "the parse ended before the kill"
        s.proc.kill()
        s.proc.wait(10)
        assert gone(parser, within=10), "the parser process outlived its server"
        thread.join(10)
        assert "value" not in box  # the request died with the server, it was not answered
    finally:
        s.stop()
