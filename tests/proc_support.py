"""Processes as Linux's /proc shows them, for tests that check a child really ended."""

from __future__ import annotations

from pathlib import Path


def ended(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


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
