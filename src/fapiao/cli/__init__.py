"""fapiao's command line (DESIGN.md's stable contract). The ledger's own commands live in this
package (`ledger`, `audit_proof`, `cards`, `web`); every capability's commands are the `cli` modules
its declaration names (`fapiao.plugins`), all registering on the one Typer app of `base`.

The console script (`main`) imports only the modules of the command it is asked to run
(`commands`); `app`, for callers in the same process (tests, --help), holds every command."""

from __future__ import annotations

from typing import Any


def main() -> None:
    from fapiao.cli.commands import run

    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from fapiao.cli.commands import every_command

        return every_command()
    raise AttributeError(f"module 'fapiao.cli' has no attribute {name!r}")


__all__ = ["app", "main"]
