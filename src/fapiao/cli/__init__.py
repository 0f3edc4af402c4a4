"""fapiao's command line (DESIGN.md's stable contract). Importing the modules registers their
commands on the one Typer app."""

from fapiao.cli import (  # noqa: F401  (each registers its commands)
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


def main() -> None:
    app()


__all__ = ["app", "main"]
