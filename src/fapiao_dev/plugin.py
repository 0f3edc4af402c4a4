"""The developer tools, declared like every capability: only their commands (no tables, pages or
checks), so a user's ledger never depends on them and `fapiao demo` still works from a fresh clone."""

from fapiao.capability import Capability
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="dev",
    zh="开发工具",
    en="Developer tools",
    requires=("ledger",),
    cli=("fapiao_dev.cli",),
    commands=("demo", "samples", "sandbox"),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
