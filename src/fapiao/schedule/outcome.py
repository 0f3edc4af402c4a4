"""What a scheduled job's run comes to: whether it succeeded, and one line saying what it did."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    summary: str
