"""The settings of insight, each defined once (name, environment variable, default, help); the CLI
options and the README read them from here."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Setting:
    env: str
    default: str
    help: str

    def get(self) -> str:
        return os.environ.get(self.env, self.default)


VERIFY_ON_IMPORT = Setting(
    "FAPIAO_VERIFY_ON_IMPORT",
    "0",
    "1: `fapiao import` verifies each received invoice it records (查验 on receipt)",
)
VERIFY_DAILY_LIMIT = Setting(
    "FAPIAO_VERIFY_DAILY_LIMIT", "5", "查验 attempts per invoice per day (the service allows 5)"
)
VERIFY_RATE = Setting("FAPIAO_VERIFY_RATE", "5", "查验 requests per second at most")
AUTHORITY = Setting("FAPIAO_AUTHORITY", "", "the authority's URL (also used by `fapiao sync`)")

ALL = (VERIFY_ON_IMPORT, VERIFY_DAILY_LIMIT, VERIFY_RATE, AUTHORITY)


def flag(setting: Setting) -> bool:
    return setting.get().strip().lower() in ("1", "true", "yes", "on")


def number(setting: Setting) -> float:
    try:
        return float(setting.get())
    except ValueError:
        return float(setting.default)
