"""The connection to the tax platform (an HTTP client, the export-file reader, errors, records).

A library other capabilities use, declared so that they may name it in `requires`; it has no
tables, commands or pages of its own. It adds one format to what an import reads: the platform's
全量发票查询 export (`platform_export`). Requires ops for the metered HTTP transport (call counts)."""

from typing import Any

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


@hookimpl
def source_formats() -> list[Any]:
    from fapiao.authority import platform_export

    return [platform_export]
