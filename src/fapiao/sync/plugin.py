"""Sync with the tax platform, declared as a capability; its part in the ledger's write path.

Every invoice the ledger records is queued for the platform: it starts as `queued` and its outbox
entry is written in the same transaction (`invoices_recorded`), so none is recorded without it.
"""

from typing import Any

from fapiao.capability import Capability
from fapiao.hooks import hookimpl
from fapiao.sync import outbox

CAPABILITY = Capability(
    name="sync",
    zh="税务平台同步",
    en="Sync with the tax platform",
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


# --- the ledger's write path -----------------------------------------------------------------------


@hookimpl
def authority_state_on_import(tx: Any) -> Any:
    return outbox.state_on_import


@hookimpl(tryfirst=True)  # before the other subscribers, so the events keep the order they had
def invoices_recorded(tx: Any, rows: list[dict[str, Any]]) -> None:
    outbox.enqueue_imported(tx, rows)
