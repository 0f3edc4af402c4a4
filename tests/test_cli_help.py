"""Every option and argument of every command says what it is, in one language order: Chinese first,
then English ("期间 / period YYYY-MM"), and `--help` shows an argument's help too."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import typer.main

from tests.conftest import run_cli

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")


def params() -> Iterator[tuple[str, click.Parameter]]:
    from fapiao.cli import app

    def walk(cmd: click.Command, prefix: list[str]) -> Iterator[tuple[str, click.Parameter]]:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*prefix, name])
            return
        for p in cmd.params:
            yield " ".join(prefix), p

    yield from walk(typer.main.get_command(app), [])


def in_order(text: str) -> bool:
    """Chinese and English both present, the Chinese first."""
    zh, en = CJK.search(text), LATIN.search(text)
    return bool(zh and en and zh.start() < en.start())


def test_every_option_and_argument_has_help_chinese_first() -> None:
    seen, wrong = 0, []
    for where, p in params():
        seen += 1
        name = "/".join(p.opts) if isinstance(p, click.Option) else f"<{p.name}>"
        if not in_order(getattr(p, "help", None) or ""):
            wrong.append(f"{where} {name}: {getattr(p, 'help', None)!r}")
    assert seen > 300  # the walk reached every capability's commands
    assert not wrong, "\n".join(wrong)


def test_help_shows_argument_help() -> None:
    shown = run_cli("show", "--help", check=True).stdout
    assert "发票号码" in shown and "--json" in shown and "输出 JSON" in shown
