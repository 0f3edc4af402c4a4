"""A few seconds' cache of verified sessions and API tokens, and the mark that empties it in every
process on this host the moment access is taken away.

Each process keeps what it verified for `TTL_S` seconds, so a busy script does not pay a query per
request. Any change that takes access away (logout, revocation, disabling, role or grant change)
commits, then rewrites a small mark file beside the SQLite database (PostgreSQL: in the temporary
folder, named after the database URL). Every cached answer remembers the mark as it was *before*
its lookup, and is used only while the mark is unchanged: one `stat` a request. So `fapiao user
disable` from the command line, or an admin on another worker of `fapiao serve --workers N`, ends
a session at once on this host. Only a process on another host (several servers on one
PostgreSQL) still answers from its cache, for at most `TTL_S` seconds; if the mark cannot be
written the same bound holds here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

TTL_S = 5.0
MAX_ENTRIES = 10_000

Mark = tuple[int, int, int] | None  # (inode, mtime ns, size) of the mark file; None: no file

_paths: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()
_entries: dict[str, tuple[float, Mark, Any]] = {}


def mark_path(engine: Engine) -> Path:
    """Where this database's mark lives (the same path for every process using the database)."""
    path = _paths.get(engine)
    if path is None:
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            db = Path(os.path.realpath(str(url.database)))
            path = db.with_name(db.name + ".access-mark")
        else:
            key = url.render_as_string(hide_password=True)
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            path = Path(tempfile.gettempdir()) / f"fapiao-access-{digest}.mark"
        _paths[engine] = path
    return path


def current(engine: Engine) -> Mark:
    try:
        st = os.stat(mark_path(engine))
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def bump(engine: Engine) -> None:
    """Access was taken away: empty this process's cache and tell the others on this host."""
    _entries.clear()
    path = mark_path(engine)
    try:
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        tmp.write_bytes(os.urandom(8))
        os.replace(tmp, path)  # a new inode every time: no two marks look alike
    except OSError:
        pass  # a read-only folder: other processes fall back to the TTL


def get(kind: str, digest: str, engine: Engine, clock: float) -> tuple[bool, Any]:
    """(found, value) of a fresh entry whose mark still holds."""
    hit = _entries.get(kind + digest)
    if hit is None or clock - hit[0] >= TTL_S or hit[1] != current(engine):
        return False, None
    return True, hit[2]


def put(kind: str, digest: str, mark: Mark, clock: float, value: Any) -> None:
    """Keeps `value`, read after the mark was `mark` (taken before the lookup, so a change that
    commits during the lookup makes the entry stale at once)."""
    if len(_entries) > MAX_ENTRIES:
        _entries.clear()
    _entries[kind + digest] = (clock, mark, value)


def clear() -> None:
    _entries.clear()
