"""Opening a ledger database: SQLite (embedded default) or PostgreSQL (shared), migrated to head.

SQLite runs in WAL mode with synchronous=FULL, so a committed transaction survives a crash or power
loss; write transactions start with BEGIN IMMEDIATE so the ledger lock is taken before anything is read.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection

WRITE = "fapiao_write"  # execution option: this connection will write through the ledger lock

POOL_SIZE = int(os.environ.get("FAPIAO_DB_POOL_SIZE", "5"))
POOL_OVERFLOW = int(os.environ.get("FAPIAO_DB_POOL_OVERFLOW", "5"))
POOL_TIMEOUT_S = float(os.environ.get("FAPIAO_DB_POOL_TIMEOUT", "10"))


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fapiao" / "ledger.sqlite"


def to_url(db: str | Path | None) -> str:
    """A path or a SQLAlchemy URL -> URL. postgresql:// gets the psycopg 3 driver."""
    raw = str(db) if db else os.environ.get("FAPIAO_DB") or str(default_db_path())
    if raw.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    if "://" in raw:
        return raw
    path = Path(raw).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_engine(db: str | Path | None = None, *, migrate: bool = True) -> Engine:
    url = to_url(db)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
    else:
        engine = create_engine(
            url,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_timeout=POOL_TIMEOUT_S,
            pool_pre_ping=True,
        )
    if migrate:
        upgrade(engine)
    return engine


# A new ledger's page: an import writes rows of a kilobyte or more (the invoice's JSON, its event,
# its original) into a dozen tables and indexes, and with 32 KiB pages it wrote 50,000 invoices in
# 5.4-5.6 s against 6.3-6.7 s with SQLite's default 4 KiB (fewer pages to split, log and check-
# point). Reads pay a little: the API's list/search over 1,000,000 invoices served 1,758-1,799
# requests/s against 1,876-1,886. A ledger made before keeps the page it has.
PAGE_SIZE = 32768
CHECKPOINT_BYTES = 64 * 1024 * 1024  # the WAL is checkpointed (and fsynced) every 64 MiB
CACHE_MIB = 64  # a connection's page cache
# The importer's connection, once a run is long (`ingest.LONG_RUN_FROM` inputs): a million-invoice
# import's random-keyed indexes (identity, fingerprint, file hash, date) outgrow CACHE_MIB, and each
# batch then read their pages back and spilled dirty ones mid-transaction. 1,000,000 files:
# 139-149 s with 64 MiB, 121-129 s with 256 MiB in six runs (512 MiB no faster), for up to 190 MiB
# more memory while it runs.
IMPORT_CACHE_MIB = 256


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new database only: set before WAL
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA cache_size=-{CACHE_MIB * 1024}")
        own_checkpoints(cur)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def own_checkpoints(driver: Any) -> None:
    """A SQLite connection (or cursor) copies the write-ahead log into the database at the commit
    that takes it past CHECKPOINT_BYTES, in pages of the ledger's own size (a ledger made before
    PAGE_SIZE keeps its own)."""
    page = driver.execute("PRAGMA page_size").fetchone()[0]
    driver.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_BYTES // page}")


@contextlib.contextmanager
def page_cache(conn: Connection, mib: int) -> Iterator[None]:
    """SQLite: this connection keeps up to `mib` of pages while in the block, then CACHE_MIB again
    (the pages over it are freed). Set through the driver, outside any transaction."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.dbapi_connection
    assert driver is not None
    driver.execute(f"PRAGMA cache_size=-{mib * 1024}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size=-{CACHE_MIB * 1024}")


class WalCheckpointer:
    """SQLite, while an import writes: the write-ahead log copied into the database by a thread
    of its own, on a connection of its own, after each commit it is told of (`committed`),
    instead of by the commit that fills it past CHECKPOINT_BYTES. That commit copied the whole
    log, 40-50 ms every fourth or fifth batch of 2,000 invoices; the thread copies each batch
    while the next one is written, holding no GIL while SQLite copies and syncs. A PASSIVE
    checkpoint never blocks the writer, but the log starts over only when a write begins with
    all of it copied: once it passes CHECKPOINT_BYTES the writer waits for the thread to copy its
    last batch, and the log stays near that size. 50,000 invoices: the writer's commits and
    waits 0.60-0.62 s against 0.72 s. The thread starts at the second commit (a run of one batch
    needs none); should it fail, the writer's commits copy the log again. Outside SQLite nothing
    happens."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.on = conn.dialect.name == "sqlite"
        self.wanted = threading.Condition()
        self.asked = self.done = 0  # rounds asked for and done
        self.log_bytes = 0  # the log's length at the last round
        self.thread: threading.Thread | None = None
        self.stopping = self.failed = self.first_done = False

    def committed(self) -> None:
        """After each commit: a round in the thread, waited for when the log is long (or the
        thread three rounds behind: the log's length is known only after a round)."""
        if not self.on:
            return
        if self.thread is None:
            if not self.first_done:  # a run of one batch, the most frequent, starts no thread:
                self.first_done = True  # the next commit on the ledger copies its log
                return
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        with self.wanted:
            self.asked += 1
            self.wanted.notify()
            if self.log_bytes >= CHECKPOINT_BYTES or self.asked - self.done > 2:
                self.wanted.wait_for(lambda: self.done >= self.asked or self.failed)
                self.log_bytes = 0  # all copied: the next write starts the log over
        if self.failed:  # (found now, or since the last commit): the writer's commits copy the
            self.on = False  # log again from here on, as they do outside imports
            own_checkpoints(self._driver())

    def __enter__(self) -> WalCheckpointer:
        if self.on:
            self._driver().execute("PRAGMA wal_autocheckpoint=0")
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.on:
            return
        if self.thread is not None:
            with self.wanted:
                self.stopping = True
                self.wanted.notify()
            self.thread.join()
        own_checkpoints(self._driver())

    def _driver(self) -> Any:
        driver = self.conn.connection.dbapi_connection
        assert driver is not None
        return driver

    @staticmethod
    def _copy(driver: Any) -> int:
        """One round: the log copied as far as it can be now; returns its length in pages."""
        _busy, frames, _copied = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return max(frames, 0)

    def _run(self) -> None:
        try:
            self._rounds()
        except Exception:  # (a disk full, say): the writer's own commits copy the log again
            with self.wanted:
                self.failed = True
                self.wanted.notify_all()

    def _rounds(self) -> None:
        raw = self.conn.engine.raw_connection()  # the ledger's settings (WAL, synchronous=FULL)
        try:
            page = raw.driver_connection.execute("PRAGMA page_size").fetchone()[0]
            while True:
                with self.wanted:
                    self.wanted.wait_for(lambda: self.stopping or self.asked > self.done)
                    if self.stopping:
                        return
                    asked = self.asked
                frames = self._copy(raw.driver_connection)
                with self.wanted:
                    self.log_bytes = frames * page
                    self.done = asked
                    self.wanted.notify_all()
        finally:
            raw.close()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # each capability keeps its revisions in its own folder; all branch from the ledger's 0001
    from fapiao import plugins

    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(plugins.migration_folders()))
    cfg.attributes["engine"] = engine
    return cfg


@functools.cache
def head_revisions() -> frozenset[str]:
    """Each capability's migrations branch from 0001, so there may be several heads.

    Read from the revision files' own `revision = …` and `down_revision = …` lines, as literals:
    every command and server start asks this, and loading the scripts through Alembic cost a
    tenth of a second each time (`tests/test_schema_declared.py` holds it to Alembic's answer)."""
    from fapiao import plugins

    revisions: set[str] = set()
    parents: set[str] = set()
    for folder in plugins.migration_folders():
        for path in Path(folder).glob("*.py"):
            declared = _declared(path.read_text(encoding="utf-8"))
            if "revision" in declared:
                revisions.add(declared["revision"])
                parents.update(_names(declared.get("down_revision")))
    return frozenset(revisions - parents)


def _declared(source: str) -> dict[str, Any]:
    """The module-level `revision` / `down_revision` literals of a revision file (a line each,
    as Alembic writes them; a value that is not a literal is an error, not a guess)."""
    out = {}
    for line in source.splitlines():
        if match := _DECLARED.match(line):
            out[match["name"]] = ast.literal_eval(match["value"].strip())
    return out


_DECLARED = re.compile(r"^(?P<name>revision|down_revision)\s*(?::[^=]*)?=(?P<value>.*)$")


def _names(value: Any) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


def current_revisions(engine: Engine) -> set[str]:
    if not inspect(engine).has_table("alembic_version"):
        return set()
    with engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migrations (cheap when it is already there)."""
    if current_revisions(engine) == head_revisions():
        return
    from alembic import command

    command.upgrade(_alembic_config(engine), "heads")
