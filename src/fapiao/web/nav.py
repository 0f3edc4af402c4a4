"""The page registry: what the navigation shows and what the dashboard holds.

A capability adds its page with `add_page(NavItem(...))` next to its routes, and its dashboard
panel with `add_panel(Panel(...))`; a panel's `load(engine, user)` returns the rows it shows, or
None when the capability is not installed (the panel then says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from fapiao.auth.users import User


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    zh: str
    en: str
    permission: str = "read"
    order: int = 100


@dataclass(frozen=True, slots=True)
class Panel:
    key: str
    zh: str
    en: str
    load: Callable[[Engine, User], list[tuple[str, str, Any]] | None]  # (zh, en, value) rows
    order: int = 100  # below LEAD: before the dashboard's own cards
    href: str = ""  # where the card's title leads


LEAD = 10


NAV: list[NavItem] = []
PANELS: list[Panel] = []


def add_page(item: NavItem) -> None:
    if all(n.path != item.path for n in NAV):
        NAV.append(item)
        NAV.sort(key=lambda n: n.order)


def add_panel(panel: Panel) -> None:
    if all(p.key != panel.key for p in PANELS):
        PANELS.append(panel)
        PANELS.sort(key=lambda p: p.order)


def visible(user: User) -> list[NavItem]:
    return [n for n in NAV if user.can(n.permission)]
