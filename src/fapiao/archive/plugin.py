"""Electronic accounting archive packages (电子会计档案): `archive export|verify`.

Requires contingency (its tenant lookup)."""

from fapiao.capability import Capability
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="archive",
    zh="电子会计档案",
    en="Accounting archive",
    requires=("contingency",),
    cli=("fapiao.archive.cli",),
    commands=("archive",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
