"""Python's cycle collector held off while work that makes millions of objects runs.

Reference counting frees nearly everything such work makes (an import's batches, a job's export);
the collector's automatic passes walk every object still held, again and again, and find next to
nothing: a server job holding a 1,000,000-row export made each full pass a stall of seconds for
every thread, the event loop's too, and an import's writer spent 0.45 s of 50,000 files in them.
`paused()` may be entered by several threads at once: the collector comes back, as it was found,
when the last one leaves, and its next pass collects the cycles left (the importer collects its
own between batches, `ingest.COLLECT_EVERY`).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_holders = 0
_was_enabled = True  # the collector's state when the first holder came


@contextlib.contextmanager
def paused() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
        _holders += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
