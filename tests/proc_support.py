"""Processes as Linux's /proc shows them, for tests that check a child really ended."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, parent, … (man 5 proc, from field 3)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def ended(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet."""
    try:
        state = _stat(pid)[0]
    except OSError:
        return True
    return state in ("Z", "X")


def gone(pid: int, within: float = 5.0) -> bool:
    """`pid` has ended (`ended`) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if ended(pid):
            return True
        time.sleep(0.05)
    return ended(pid)


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time `pid` has used so far."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def children_of(pid: int) -> list[int]:
    """The children of `pid`, started by any of its threads."""
    found = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in listing.read_text().split()]
        except OSError:
            continue
    return found


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
