"""A chaos drill: invoices issued and uploaded against a faulty sandbox while the sync worker is
SIGKILLed at random, then checked: the authority holds exactly the ledger's set, nothing missing,
nothing doubled, no number issued twice, every invoice confirmed, the audit chain intact.

Used by `tests/test_chaos.py` (scaled down) and `bench/sync.py` (full size).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fapiao.authority.http import HttpConnector
from fapiao.authority.records import differences
from fapiao.codec import invoice_to_json
from fapiao.ingest import Source, import_sources
from fapiao.ledger import audit, queries
from fapiao.ledger.db import open_engine
from fapiao.ledger.listing import Listing
from fapiao.ledger.store import Ledger
from fapiao.model import Kind
from fapiao.sync import outbox
from fapiao.sync.drafts import record_drafts
from fapiao_dev.sandbox.run import SandboxProcess
from fapiao_dev.synth import InvoiceFactory

FAPIAO = str(Path(sys.executable).with_name("fapiao"))

DEFAULT_FAULTS: dict[str, Any] = {
    "seed": 7,
    "error_rate": 0.08,
    "timeout_rate": 0.04,
    "timeout_hold_s": 4,
    "latency_ms": [0, 30],
    "drop_after_ack_rate": 0.02,
    "visibility_delay_s": 1.5,
    "outages": [{"start_s": 4, "end_s": 9}, {"start_s": 20, "end_s": 26}],
}


@dataclass(slots=True)
class Report:
    invoices: int = 0
    drafts: int = 0
    kills: int = 0
    converge_s: float = 0.0
    ledger: int = 0
    authority: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    not_confirmed: dict[str, int] = field(default_factory=dict)
    sends: int = 0
    retries: int = 0
    resends_after_missing: int = 0
    sandbox: dict[str, int] = field(default_factory=dict)
    audit_ok: bool = False

    @property
    def ok(self) -> bool:
        return (
            not self.missing
            and not self.extra
            and not self.differing
            and not self.not_confirmed
            and self.ledger == self.authority
            and self.sandbox.get("drafts_numbered_twice", 1) == 0
            and self.sandbox.get("duplicate_content", 1) == 0
            and self.audit_ok
        )

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]
        for k in ("missing", "extra", "differing"):
            out[k] = len(out[k])
        out["ok"] = self.ok
        return out


def seed_ledger(ledger: Ledger, workdir: Path, *, invoices: int, drafts: int, seed: int) -> str:
    """A tenant, `invoices - drafts` imported invoices of both directions and `drafts` drafts."""
    factory = InvoiceFactory(seed)
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    today = dt.date.today() - dt.timedelta(days=1)
    sources = []
    for n in range(invoices - drafts):
        inv = factory.invoice(day=today - dt.timedelta(days=n % 300))
        sources.append(
            Source(
                f"import-{n}.json", json.dumps(invoice_to_json(inv), ensure_ascii=False).encode()
            )
        )
    import_sources(ledger, sources)
    folder = workdir / "drafts"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(drafts):
        doc = invoice_to_json(
            factory.invoice(
                issued=True, kind=Kind.DIGITAL_SPECIAL, day=today - dt.timedelta(days=n % 300)
            )
        )
        doc["number"] = ""
        path = folder / f"draft-{n:05d}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    for start in range(0, len(paths), 500):
        record_drafts(ledger, paths[start : start + 500])
    return factory.home.tax_id


def worker_cmd(db: str, url: str, *, timeout: float, missing_after: float) -> list[str]:
    return [
        FAPIAO,
        "--db",
        db,
        "sync",
        "--authority",
        url,
        "--timeout",
        str(timeout),
        "--missing-after",
        str(missing_after),
        "--json",
    ]


def confirmed_all(engine: Any) -> bool:
    inv = queries.inv
    with engine.connect() as conn:
        left = conn.scalar(
            select(func.count()).select_from(inv).where(inv.c.authority_state != "confirmed")
        )
    return left == 0


def run(
    workdir: Path,
    *,
    db: str | None = None,
    invoices: int = 300,
    drafts: int = 150,
    kills: int = 5,
    kill_after_s: tuple[float, float] = (0.8, 2.0),
    faults: dict[str, Any] | None = None,
    timeout: float = 2.0,
    missing_after: float = 3.0,
    converge_timeout_s: float = 120.0,
    seed: int = 11,
    log: Any = None,
) -> Report:
    say = log or (lambda _msg: None)
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    db = db or str(workdir / "ledger.sqlite")
    engine = open_engine(db)
    ledger = Ledger(engine, actor="chaos")
    report = Report(invoices=invoices, drafts=drafts)
    home = seed_ledger(ledger, workdir, invoices=invoices, drafts=drafts, seed=seed)
    say(f"ledger seeded: {invoices} invoices ({drafts} drafts to issue)")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with SandboxProcess(workdir / "sandbox", faults=faults or DEFAULT_FAULTS) as sandbox:
        cmd = worker_cmd(db, sandbox.url, timeout=timeout, missing_after=missing_after)
        started = time.monotonic()
        for k in range(kills):
            proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
            )
            time.sleep(rng.uniform(*kill_after_s))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            report.kills += 1
            c = outbox.counts(engine)
            say(f"kill {k + 1}/{kills}: confirmed {c['confirmed']}/{invoices}")
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            deadline = time.monotonic() + converge_timeout_s
            while not confirmed_all(engine) and time.monotonic() < deadline:
                time.sleep(0.3)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        report.converge_s = round(time.monotonic() - started, 2)
        sandbox.set_faults({})
        _compare(report, engine, sandbox, home)
    engine.dispose()
    return report


def _compare(report: Report, engine: Any, sandbox: SandboxProcess, home: str) -> None:
    mine = {
        r["number"] if not r["code"] else f"{r['code']}-{r['number']}": r
        for r in queries.list_invoices(engine, Listing())
    }
    with HttpConnector(sandbox.url, timeout=30) as conn:
        theirs = {
            r.identity.key: r for r in conn.list(home, dt.date(1994, 1, 1), dt.date(2999, 12, 31))
        }
    report.ledger, report.authority = len(mine), len(theirs)
    report.missing = sorted(set(mine) - set(theirs))
    report.extra = sorted(set(theirs) - set(mine))
    report.differing = sorted(k for k in set(mine) & set(theirs) if differences(mine[k], theirs[k]))
    states: dict[str, int] = {}
    for r in mine.values():
        if r["authority_state"] != "confirmed":
            states[r["authority_state"]] = states.get(r["authority_state"], 0) + 1
    report.not_confirmed = states
    ob = outbox.ob
    with engine.connect() as c:
        entries = c.scalar(select(func.count(func.distinct(ob.c.invoice_id)))) or 0
        report.sends = int(c.scalar(select(func.coalesce(func.sum(ob.c.attempts), 0))) or 0)
        report.resends_after_missing = int(
            c.scalar(select(func.coalesce(func.sum(ob.c.generation), 0))) or 0
        )
    report.retries = report.sends - entries
    report.sandbox = sandbox.stats()
    report.audit_ok = audit.verify(engine).ok
