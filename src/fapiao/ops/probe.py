"""Building a `Probe` for a ledger URL: the engine opened without migrating (a check must not
change what it checks), the paths fapiao writes to, the authority from $FAPIAO_AUTHORITY."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine

from fapiao.ledger.db import open_engine, to_url
from fapiao.ops.checks import Probe, Settings, _first_line, default_paths


def make_probe(
    db: str | Path | None,
    *,
    engine: Engine | None = None,
    authority: str | None = None,
    settings: Settings | None = None,
) -> Probe:
    url = to_url(db) if db is not None or engine is None else str(engine.url)
    error = ""
    if engine is None:
        try:
            engine = open_engine(url, migrate=False)
        except Exception as exc:  # a bad URL or a driver refusing it: the database check says so
            error = _first_line(exc)
    probe = Probe(
        engine,
        url=url,
        settings=settings or Settings.from_env(),
        authority=authority if authority is not None else os.environ.get("FAPIAO_AUTHORITY"),
        paths=default_paths(url),
    )
    probe.db_error = error
    return probe
