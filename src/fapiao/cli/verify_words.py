"""What the CLI says about 查验 (verification with the authority), shared by `import --verify`
and `verify`: the authority's address asked for, and one mark per outcome."""

from __future__ import annotations

import typer

from fapiao.cli.base import err


def _authority_url(authority: str | None) -> str:
    from fapiao.insight import settings

    url = authority or settings.AUTHORITY.get()
    if not url:
        err.print("需要 --authority URL 或 $FAPIAO_AUTHORITY / --authority URL is required")
        raise typer.Exit(2)
    return url


VERIFY_MARK = {
    "match": "[green]✓ 一致 match[/]",
    "mismatch": "[red]≠ 不符 mismatch[/]",
    "not_found": "[red]✗ 查无此票 not found[/]",
    "limited": "[yellow]… 次数已满 daily limit[/]",
    "error": "[yellow]! 出错 error[/]",
    "skipped": "[yellow]- 跳过 skipped[/]",
}
