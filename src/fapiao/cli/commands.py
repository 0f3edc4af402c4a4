"""Which modules a command needs, so that `fapiao <command>` imports only those.

Every command's module is imported, and every command built, for `--help` or a word nobody
declares; otherwise only the module(s) registering the first word: the core's own (`CORE`) or the
capability's `cli` modules that declare it in `commands`. Loading and building every command cost
a third of a second of each start, and scripts (and the test suite) start `fapiao` hundreds of
times. `tests/test_cli_loading.py` holds the declarations to what the modules register.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Sequence

import click  # loaded by typer already: nothing added to the start
import typer

# the core's top-level words and the modules registering under them (`tenant` and `audit` are
# groups of `base` whose commands live in these modules)
CORE: dict[str, tuple[str, ...]] = {
    "import": ("fapiao.cli.ledger",),
    "parse": ("fapiao.cli.ledger",),
    "list": ("fapiao.cli.ledger",),
    "show": ("fapiao.cli.ledger",),
    "tenant": ("fapiao.cli.ledger",),
    "audit": ("fapiao.cli.ledger", "fapiao.cli.audit_proof"),
    "serve": ("fapiao.cli.web",),
}
CORE_MODULES = ("fapiao.cli.audit_proof", "fapiao.cli.ledger", "fapiao.cli.web")
# global options that take a value (see `base._main`): their value is not the command
VALUED = ("--db", "--as")


@functools.cache
def every_command() -> typer.Typer:
    """The app with every command registered (once per process)."""
    from fapiao.cli.base import app
    from fapiao.plugins import load

    _check()
    for name in CORE_MODULES:
        importlib.import_module(name)
    load("cli")
    return app


def modules_for(args: Sequence[str]) -> tuple[str, ...] | None:
    """The modules to import for the command line `args` (without the program's name); None:
    every one (help, no command, or a word no declaration names)."""
    word = first_word(args)
    if word is None:
        return None
    if word in CORE:
        return CORE[word]
    from fapiao.plugins import capabilities

    owners = tuple(m for cap in capabilities() if word in cap.commands for m in cap.cli)
    return owners or None


def first_word(args: Sequence[str]) -> str | None:
    """The command's first word, past the global options; None when help is asked first."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in VALUED:
            skip = True
        elif arg.startswith("-"):
            if arg in ("--help", "-h"):
                return None
        else:
            return arg
    return None


def run(args: Sequence[str] | None = None) -> None:
    from fapiao.findings import Refusal

    args = sys.argv[1:] if args is None else list(args)
    modules = modules_for(args)
    if modules is None:
        app = every_command()
    else:
        from fapiao.cli.base import app

        _check()
        for name in modules:
            importlib.import_module(name)
    from fapiao.cli.base import refusal_exit

    try:
        code = app(args=list(args), prog_name="fapiao", standalone_mode=False)
    except Refusal as exc:  # e.g. a write with nobody to answer for it: refused before it began
        raise SystemExit(refusal_exit(exc).exit_code) from exc
    except click.ClickException as exc:  # a usage error: said in Chinese first, exit 2
        raise SystemExit(_shown(exc)) from exc
    except click.Abort:
        sys.stderr.write("已中止 / aborted\n")
        raise SystemExit(1) from None
    # outside standalone mode click returns an Exit's code, or what the command returned (None)
    raise SystemExit(code if isinstance(code, int) else 0)


def _shown(exc: click.ClickException) -> int:
    """Click's message, in Typer's panel, after its Chinese (click speaks English only)."""
    from typer import rich_utils

    if isinstance(exc, click.UsageError):
        said = click.UsageError(f"{_usage_zh(exc)} / {exc.format_message()}", exc.ctx)
        rich_utils.rich_format_error(said)
        return said.exit_code
    rich_utils.rich_format_error(exc)
    return exc.exit_code


def _usage_zh(exc: click.UsageError) -> str:
    param = getattr(exc, "param", None)
    named = f" {param.opts[0] if param.opts else param.name}" if param is not None else ""
    if isinstance(exc, click.MissingParameter):
        return f"缺少必填项{named}"
    if isinstance(exc, click.NoSuchOption):
        return f"没有这个选项 {exc.option_name}"
    if isinstance(exc, click.BadParameter):
        return f"取值无效{named}"
    if exc.message.startswith("No such command"):
        return "没有这个命令"
    return "命令用法有误"


def _check() -> None:
    """A declared module that does not exist stops the start (located only, not imported: the
    CLI does not load FastAPI)."""
    from fapiao.plugins import DeclarationError, check_declarations

    problems = check_declarations(imported=())
    if problems:
        raise DeclarationError("capability declarations broken:\n" + "\n".join(problems))
