"""Shared fixtures: every ledger test runs on SQLite and on PostgreSQL (a fresh database per test,
copied from one migrated once per worker)."""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from fapiao.codec import invoice_to_json
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.model import Invoice
from fapiao_dev.synth import InvoiceFactory

PG_URL = os.environ.get("FAPIAO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# Cheap password hashing for the many users the tests make, in every worker and every process
# they start (set before fapiao.auth loads; the production parameters are tested where they
# matter, by passing them explicitly).
os.environ.setdefault("FAPIAO_ARGON2_TIME_COST", "1")
os.environ.setdefault("FAPIAO_ARGON2_MEMORY_KIB", "1024")
FAPIAO = str(Path(sys.executable).with_name("fapiao"))


def pytest_configure(config: pytest.Config) -> None:
    """Compiles the package's bytecode once, before the workers start. The suite starts `fapiao`
    hundreds of times (CLI, servers, sandbox); where PYTHONDONTWRITEBYTECODE is set nothing else
    writes these files, and each start would compile some 340 modules from source again.
    Each worker also keeps pytest's rewritten test modules (__pycache__, ignored by git): collecting
    them takes twice as long without."""
    sys.dont_write_bytecode = False
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller has done it
    import fapiao
    import fapiao_dev

    for package in (fapiao, fapiao_dev):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long walks (marked slow) start first: a worker that drew one at the end of the run would
    leave the other idle for its whole length."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _pg_schema_url(schema: str) -> str:
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def _pg_database_url(database: str) -> str:
    url = make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=database).render_as_string(hide_password=False)


def _database_name(kind: str) -> str:
    """fapiao_<kind>_<pid>_<hex>: the pid says whether the run that made it is still alive."""
    return f"fapiao_{kind}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def _pg_admin() -> Iterator[Engine]:
    """CREATE and DROP DATABASE run outside a transaction. Databases left by an interrupted run
    (its process gone) are dropped first."""
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        names = conn.scalars(
            text(r"SELECT datname FROM pg_database WHERE datname ~ '^fapiao_(tpl|test)_\d+_'")
        ).all()
        for name in names:
            if not _alive(int(name.split("_")[2])):
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    yield admin
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger file migrated to the newest revisions once per worker, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "ledger.sqlite"
    engine = open_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_template(_pg_admin: Engine) -> Iterator[str]:
    """A PostgreSQL database migrated once per worker: each test's database is a copy of it
    (CREATE DATABASE … TEMPLATE), a fraction of the time the migrations take."""
    name = _database_name("tpl")
    with _pg_admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine = open_engine(_pg_database_url(name))
    engine.dispose()  # a template may have no connections while it is copied
    yield name
    with _pg_admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _empty_db(request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp.mktemp('db') / 'ledger.sqlite'}"
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


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database with no tables at all (a SQLite file not yet created, or a new PostgreSQL
    schema): for tests of the migrations themselves, which must run them."""
    yield from _empty_db(request, tmp_path_factory)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh ledger database URL, already migrated to the newest revisions and holding no rows:
    a copy of a SQLite file, or a new PostgreSQL database made from a migrated template."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "ledger.sqlite"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("_pg_template")
    admin: Engine = request.getfixturevalue("_pg_admin")
    name = _database_name("test")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    try:
        yield _pg_database_url(name)
    finally:
        with admin.connect() as conn:  # FORCE: servers a test started may still be connected
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    engine = open_engine(db_url)
    yield Ledger(engine, actor="test")
    engine.dispose()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger on SQLite only, for what is SQLite's own (its page cache, its write-ahead log)."""
    engine = open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
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
