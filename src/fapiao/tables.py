"""Every table of every capability on one metadata: what migrations and backups must see.

`fapiao.ledger.schema` defines the ledger's own tables and the shared `metadata`; each capability
defines its tables in its own module on that metadata. Importing this module loads them all, so the
ledger itself does not import the capabilities built on it.
"""

from fapiao.auth import schema as auth_tables  # users, grants, sessions: migration 0004
from fapiao.backup import tables as backup_tables  # backup and drill log: migration 0005
from fapiao.contingency import tables as contingency_tables  # incidents, 补开, orders: 0006
from fapiao.insight import tables as insight_tables  # 查验, categories, facts: migration 0008
from fapiao.ledger.schema import metadata
from fapiao.ops import tables as ops_tables  # checks, notices, repair tickets: migration 0007
from fapiao.plugins import load
from fapiao.reconcile import schema as reconcile_tables  # runs and actions: migration 0003
from fapiao.sync import tables as sync_tables  # outbox and sync state: migration 0002

load("tables")  # the tables every registered capability declares

CAPABILITIES = (
    auth_tables,
    backup_tables,
    contingency_tables,
    insight_tables,
    ops_tables,
    reconcile_tables,
    sync_tables,
)

__all__ = ["CAPABILITIES", "metadata"]
