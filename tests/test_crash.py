"""Crash safety: `fapiao import` SIGKILLed at random moments, again and again.

Every invoice a run reported (on its --ndjson stream, written only after each batch commits) must be
in the ledger; nothing may be half written (each invoice has all its lines and its event); the audit
chain must verify after every kill; and a last run must bring the ledger to exactly the full set.
"""

import contextlib
import json
import os
import random
import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select

from fapiao.codec import invoice_to_json
from fapiao.ledger import audit, schema
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from tests.conftest import FAPIAO

KILLS = 20
MID_RUN_KILLS = 10  # of them at least this many must land after a commit and before the end
MAX_RUNS = 80  # a faster import lets more kills land at the start or the end: try on, to a bound
INVOICES = 600  # six batches of 100: room for kills before, between and inside them


def reported(stdout: bytes) -> list[dict]:
    out = []
    for line in stdout.decode(errors="replace").splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # the line being written at the kill
            out.append(json.loads(line))
    return out


def consistent(engine) -> None:
    with engine.connect() as conn:
        invoices = conn.execute(select(schema.invoices.c.id, schema.invoices.c.doc)).all()
        lines = dict(
            conn.execute(
                select(schema.line_items.c.invoice_id, func.count()).group_by(
                    schema.line_items.c.invoice_id
                )
            ).all()
        )
        imported_events = conn.scalar(
            select(func.count())
            .select_from(schema.events)
            .where(schema.events.c.action == "invoice.imported")
        )
    for inv_id, doc in invoices:
        assert lines.get(inv_id, 0) == len(json.loads(doc)["items"]), (
            f"invoice {inv_id} half written"
        )
    assert imported_events == len(invoices)
    report = audit.verify(engine)
    assert report.ok, [p.message_en for p in report.problems]


@pytest.mark.slow
def test_sigkill_during_import(db_url, factory, tmp_path):
    rng = random.Random(20261125)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    numbers = set()
    for n in range(INVOICES):
        inv = factory.invoice()
        numbers.add(inv.number)
        (inbox / f"{n:05d}.json").write_text(
            json.dumps(invoice_to_json(inv), ensure_ascii=False), encoding="utf-8"
        )
    engine = open_engine(db_url)
    Ledger(engine).add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)

    promised: set[str] = set()
    kills = mid_batch_kills = runs = 0
    while kills < KILLS or (mid_batch_kills < MID_RUN_KILLS and runs < MAX_RUNS):
        runs += 1
        proc = subprocess.Popen(
            [FAPIAO, "--db", db_url, "import", str(inbox), "--ndjson", "-q", "--batch-size", "100"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        # Kill after a random number of reported outcomes (so the kill lands between or inside
        # batch commits whatever the machine's load), or during start-up now and then.
        wait_for = rng.choice([0, *range(1, INVOICES, 97)])
        lines: list[bytes] = []
        if wait_for == 0:
            time.sleep(rng.uniform(0.05, 0.8))
        else:
            while len(lines) < wait_for and (line := proc.stdout.readline()):
                lines.append(line)
            time.sleep(rng.uniform(0, 0.05))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        rest, _ = proc.communicate()
        outcomes = reported(b"".join(lines) + rest)
        if proc.returncode == -signal.SIGKILL and 0 < len(outcomes) < INVOICES:
            mid_batch_kills += 1
        promised |= {r["number"] for r in outcomes if r["status"] in ("imported", "duplicate")}
        with engine.connect() as conn:
            present = set(conn.scalars(select(schema.invoices.c.number)))
        assert promised <= present, f"reported but missing: {sorted(promised - present)[:5]}"
        consistent(engine)
    assert mid_batch_kills >= MID_RUN_KILLS, "too few kills landed while batches were being written"

    final = subprocess.run(
        [FAPIAO, "--db", db_url, "import", str(inbox), "--json", "-q"], capture_output=True
    )
    assert final.returncode == 0, final.stderr
    with engine.connect() as conn:
        assert set(conn.scalars(select(schema.invoices.c.number))) == numbers
    consistent(engine)
    engine.dispose()
