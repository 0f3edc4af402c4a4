"""The ledger itself, declared like every capability: its tables and its first migration."""

from fapiao.capability import Capability
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="ledger",
    zh="发票台账",
    en="Invoice ledger",
    tables=("fapiao.ledger.schema",),
    migrations="fapiao.ledger.migrations.versions",
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
