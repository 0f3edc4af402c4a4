"""Contingency (应急: outages, pauses, manual invoices, 补开), declared as a capability; its part
in the ledger's write path.

An invoice recorded for the tenant, direction, counterparty and total of a submitted or approved
补开 request closes that request in the same transaction (`invoices_recorded`).
"""

from typing import Any

from fapiao.capability import Capability
from fapiao.contingency.reissue import arrived
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="contingency",
    zh="应急处理",
    en="Contingency",
    requires=("sync",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


# --- the ledger's write path -----------------------------------------------------------------------


@hookimpl
def invoices_recorded(tx: Any, rows: list[dict[str, Any]]) -> None:
    arrived(tx, rows)  # a re-issued invoice closes its 补开 request
