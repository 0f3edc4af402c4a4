"""fapiao's command line (DESIGN.md's stable contract). Importing the modules registers their
commands on the one Typer app."""

from fapiao.cli import (  # noqa: F401  (each registers its commands)
    archive,
    audit_proof,
    backup,
    insight,
    ledger,
    ops,
    printing,
    reconcile,
    review,
    sync,
    web,
)
from fapiao.cli.base import app
from fapiao.plugins import load

load("cli")  # the commands every registered capability declares


def main() -> None:
    from fapiao.auth.actor import ActorRefused
    from fapiao.cli.base import err

    try:
        app()
    except ActorRefused as exc:  # a write with nobody to answer for it: refused before it began
        err.print(f"{exc.zh} / {exc.en}", highlight=False)
        raise SystemExit(2) from exc


__all__ = ["app", "main"]
