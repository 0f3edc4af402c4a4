"""Shared fixtures: every ledger test runs on SQLite and on PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from fapiao.codec import invoice_to_json
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.model import Invoice
from fapiao_dev.synth import InvoiceFactory

PG_URL = os.environ.get("FAPIAO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
FAPIAO = str(Path(sys.executable).with_name("fapiao"))


def _pg_schema_url(schema: str) -> str:
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty ledger database URL: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'ledger.sqlite'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    engine = open_engine(db_url)
    yield Ledger(engine, actor="test")
    engine.dispose()


@pytest.fixture
def factory() -> InvoiceFactory:
    return InvoiceFactory(seed=42)


def write_invoice(path: Path, inv: Invoice | dict[str, Any]) -> Path:
    doc = invoice_to_json(inv) if isinstance(inv, Invoice) else inv
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def run_cli(*args: str, check: bool = False, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Runs the installed `fapiao` console script, as a user or a script would."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200", **kw.pop("env", {})}
    proc = subprocess.run([FAPIAO, *args], capture_output=True, text=True, env=env, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"fapiao {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc
