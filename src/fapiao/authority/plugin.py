"""The connection to the tax platform (an HTTP client, the export-file reader, errors, records).

A library other capabilities use, declared so that they may name it in `requires`; it has no
tables, commands or pages of its own. Requires ops for the metered HTTP transport (call counts)."""

from fapiao.capability import Capability
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="authority",
    zh="税务平台连接",
    en="Tax platform connector",
    requires=("ops",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
