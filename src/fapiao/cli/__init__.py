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
    from fapiao.cli.base import refusal_exit
    from fapiao.findings import Refusal

    try:
        app()
    except Refusal as exc:  # e.g. a write with nobody to answer for it: refused before it began
        raise SystemExit(refusal_exit(exc).exit_code) from exc


__all__ = ["app", "main"]
