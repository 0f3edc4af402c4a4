"""Shared by the tests of the monthly 进项 work (deduct, book, expense, red): a ledger with one
company's received and issued invoices of November 2024, and the command line run in-process."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fapiao.ingest import import_paths
from fapiao.ledger import schema
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.model import Invoice, Kind
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import write_invoice

with warnings.catch_warnings():  # the installed click warns about names typer still imports
    warnings.simplefilter("ignore", DeprecationWarning)
    from typer.testing import CliRunner

    from fapiao.cli import app

NOV = dt.date(2024, 11, 1)


@dataclass
class Books:
    db: str
    ledger: Ledger
    tenant: int
    factory: InvoiceFactory
    received: list[Invoice] = field(default_factory=list)
    issued: Invoice | None = None
    more_issued: list[Invoice] = field(default_factory=list)  # two more blue 数电票 issued
    red: Invoice | None = None  # a received red invoice reversing received[3] in full

    def cli(self, *args: str, user: str | None = None) -> Any:
        extra = ["--as", user] if user else []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return CliRunner().invoke(app, ["--db", self.db, *extra, *args])

    def cli_json(self, *args: str, user: str | None = None) -> Any:
        res = self.cli(*args, "--json", user=user)
        assert res.exit_code in (0, 1), res.output
        return res.exit_code, json.loads(res.stdout)

    def events(self) -> int:
        with self.ledger.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(schema.events)) or 0

    def id_of(self, inv: Invoice) -> str:
        key = f"{inv.code}-{inv.number}" if inv.code else inv.number
        t = schema.invoices
        with self.ledger.engine.connect() as conn:
            q = select(t.c.id).where(t.c.identity_key == key, t.c.tenant_id == self.tenant)
            return str(conn.scalar(q))


def make_books(db_url: str, tmp: Path, *, received: int = 4, seed: int = 7) -> Books:
    engine = open_engine(db_url)
    ledger = Ledger(engine, actor="test")
    f = InvoiceFactory(seed=seed)
    tenant, _ = ledger.add_tenant(tax_id=f.home.tax_id, name=f.home.name)
    assert tenant
    books = Books(db_url, ledger, tenant, f)
    for n in range(received):
        inv = f.invoice(issued=False, kind=Kind.DIGITAL_SPECIAL, day=NOV + dt.timedelta(days=n))
        books.received.append(inv)
        write_invoice(tmp / "in" / f"r{n}.json", inv)
    books.issued = f.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL, day=NOV)
    write_invoice(tmp / "in" / "issued.json", books.issued)
    for n in range(2):
        inv = f.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL, day=NOV + dt.timedelta(days=n))
        books.more_issued.append(inv)
        write_invoice(tmp / "in" / f"issued{n}.json", inv)
    books.red = f.red_of(books.received[3])
    write_invoice(tmp / "in" / "red.json", books.red)
    summary = import_paths(ledger, [tmp / "in"])
    assert len(summary.imported) == received + 4, summary
    return books
