"""A parser that crashes like native code on hostile input: run in the server's parser process
(`fapiao.web.parsing`), it kills that process with SIGSEGV when an upload is named `crash…`."""

from __future__ import annotations

import os
import signal

from fapiao.ingest import Incoming, Source
from fapiao.web.parsing import parse_sources


def crash_on_marked(sources: list[Source]) -> list[list[Incoming]]:
    if any(os.path.basename(s.name).startswith("crash") for s in sources):
        os.kill(os.getpid(), signal.SIGSEGV)
    return parse_sources(sources)


def hang_on_marked(sources: list[Source]) -> list[list[Incoming]]:
    """A parser stuck in native code on a file named `hang…` (a loop Python never returns from);
    first it writes its process id into that file's path, for the test to watch."""
    for s in sources:
        if os.path.basename(s.name).startswith("hang"):
            with open(s.name, "w") as out:
                out.write(str(os.getpid()))
            while True:
                signal.pause()
    return parse_sources(sources)
