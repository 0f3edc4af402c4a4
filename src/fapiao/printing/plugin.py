"""Printing invoices and listings to PDF: the `print` command (the web prints through it too)."""

from fapiao.capability import Capability
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="printing",
    zh="打印",
    en="Printing",
    requires=(),
    cli=("fapiao.printing.cli",),
    commands=("print",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
