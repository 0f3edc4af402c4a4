"""The sync part of `fapiao demo`: a sandbox with an outage, drafts issued while it is down,
the queue growing in offline mode, then draining and confirmed by read-back once it is back."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from rich.console import Console

from fapiao.authority.http import HttpConnector
from fapiao.codec import invoice_to_json
from fapiao.ledger.store import Ledger
from fapiao.model import Kind
from fapiao.sync.drafts import record_drafts
from fapiao.sync.status import sync_status
from fapiao.sync.worker import Settings, Worker
from fapiao_dev.sandbox.run import SandboxProcess
from fapiao_dev.synth import InvoiceFactory

OUTAGE_S = 6.0
FAULTS = {
    "seed": 1,
    "error_rate": 0.05,
    "drop_after_ack_rate": 0.03,
    "visibility_delay_s": 1,
    "outages": [{"start_s": 0, "end_s": OUTAGE_S}],
}


def _drafts(folder: Path, seed: int, count: int) -> list[Path]:
    factory = InvoiceFactory(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        doc = invoice_to_json(factory.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL))
        doc["number"] = ""
        path = folder / f"draft-{n:03d}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        paths.append(path)
    return paths


def _line(ledger: Ledger, started: float) -> tuple[str, dict[str, int], bool]:
    s = sync_status(ledger.engine)
    c = s["counts"]
    mode = "[red]离线 offline[/]" if s["offline"] else "[green]在线 online[/] "
    text = (
        f"  {time.monotonic() - started:4.1f}s {mode} 排队 queued {c['queued'] + c['missing']:4d}"
        f" · 已受理 uploaded {c['uploaded']:4d} · 已确认 confirmed {c['confirmed']:4d}"
    )
    return text, c, bool(s["drained"])


def run_sync_demo(directory: Path, ledger: Ledger, out: Console, *, seed: int = 7) -> bool:
    """Returns True when everything queued was confirmed at the sandbox."""
    drafts = _drafts(directory / "drafts", seed, 20)
    out.print(
        f"\n[bold]上传 sync[/] — 模拟税务平台 sandbox (维护中 outage for the first {OUTAGE_S:.0f} s, "
        "5 % 5xx, 3 % 受理后丢失 drop-after-ack)"
    )
    with SandboxProcess(directory / "sandbox", faults=FAULTS) as sandbox:
        outcomes = record_drafts(ledger, drafts)
        out.print(
            f"开具 issue: {sum(1 for o in outcomes if o.id)} 张草稿入队 drafts queued; "
            f"导入的发票也在队列中 imported invoices are queued too · 平台 {sandbox.url}"
        )
        settings = Settings(missing_after_s=2.0, breaker_cooldown_s=1.0, breaker_cooldown_cap_s=2.0)
        stop = threading.Event()
        with HttpConnector(sandbox.url, timeout=3) as conn:
            worker = Worker(ledger, conn, settings)
            thread = threading.Thread(target=worker.run, kwargs={"stop": stop}, daemon=True)
            started = time.monotonic()
            thread.start()
            drained = False
            while time.monotonic() - started < 25:
                time.sleep(1.0)
                text, _, drained = _line(ledger, started)
                out.print(text, highlight=False)
                if drained:
                    break
            stop.set()
            thread.join(10)
        held = sandbox.stats()["invoices"]
    text, c, drained = _line(ledger, started)
    mark = "[green]✓[/]" if drained else "[red]✗[/]"
    out.print(
        f"{mark} 平台持有 the platform holds {held} · 已确认 confirmed {c['confirmed']} · "
        f"重试 retries {worker.stats.transient} · 重发 re-sent after missing {worker.stats.missing}"
    )
    return drained
