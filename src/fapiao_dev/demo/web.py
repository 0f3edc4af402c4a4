"""The demo's web login: an admin with a fresh random password, printed once and kept beside the
demo ledger (the demo is a throwaway SQLite file, never a real installation)."""

from __future__ import annotations

import secrets
from pathlib import Path

from rich.console import Console

from fapiao.auth.users import add_user
from fapiao.ledger.store import Ledger


def add_demo_login(ledger: Ledger, directory: Path, db: Path, out: Console) -> str:
    password = secrets.token_urlsafe(9)
    add_user(ledger, name="admin", password=password, role="admin")
    (directory / "web-login.txt").write_text(f"admin\n{password}\n", encoding="utf-8")
    out.print(
        f"网页 web: fapiao --db {db} serve  →  http://127.0.0.1:8000/  "
        f"用户 user [bold]admin[/]  密码 password [bold]{password}[/]",
        highlight=False,
    )
    return password
