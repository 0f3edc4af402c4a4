"""When a job is next due: `--every 5s|10m|2h|1d` or a five-field cron expression (croniter).

Cron fields are read in the business's own time zone (`FAPIAO_TZ`, default Asia/Shanghai), so
"0 2 * * *" is two at night in Beijing whatever the server's clock zone is.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from croniter import croniter

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EVERY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


class TimingError(ValueError):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


@dataclass(frozen=True, slots=True)
class When:
    every_s: float = 0.0
    cron: str = ""

    def text(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.every_s:g}s"


def zone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("FAPIAO_TZ", "Asia/Shanghai"))


def parse_every(text: str) -> float:
    m = EVERY_RE.match(text)
    if not m or float(m.group(1)) <= 0:
        raise TimingError(
            f"间隔应如 5s、10m、2h、1d：{text!r}", f"--every takes 5s, 10m, 2h or 1d: {text!r}"
        )
    return float(m.group(1)) * UNITS[m.group(2)]


def parse(every: str | None, cron: str | None) -> When:
    if bool(every) == bool(cron):
        raise TimingError("请给出 --every 或 --cron 之一", "give one of --every or --cron")
    if every:
        return When(every_s=parse_every(every))
    assert cron is not None
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise TimingError(
            f"cron 表达式无效（五段）：{cron!r}", f"not a five-field cron expression: {cron!r}"
        )
    return When(cron=cron.strip())


def next_after(when: When, after: float) -> float:
    """The first time strictly after `after` (unix seconds) at which the job is due."""
    if when.every_s:
        return after + when.every_s
    start = dt.datetime.fromtimestamp(after, zone())
    return float(croniter(when.cron, start).get_next(float))
