"""fapiao's command line (DESIGN.md's stable contract). The ledger's own commands live in this
package (`ledger`, `audit_proof`, `cards`, `web`); every capability's commands are the `cli` modules
its declaration names (`fapiao.plugins`), imported here so that they register on the one Typer app."""

from fapiao.cli import audit_proof, ledger, web  # noqa: F401  (each registers its commands)
from fapiao.cli.base import app
from fapiao.plugins import DeclarationError, check_declarations, load

# a declared module that does not exist stops the start (located only: the CLI does not load FastAPI)
_problems = check_declarations(imported=())
if _problems:
    raise DeclarationError("capability declarations broken:\n" + "\n".join(_problems))
load("cli")  # the commands every registered capability declares


def main() -> None:
    from fapiao.cli.base import refusal_exit
    from fapiao.findings import Refusal

    try:
        app()
    except Refusal as exc:  # e.g. a write with nobody to answer for it: refused before it began
        raise SystemExit(refusal_exit(exc).exit_code) from exc


__all__ = ["app", "main"]
