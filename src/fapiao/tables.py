"""Every table of every capability on one metadata: what migrations and backups must see.

`fapiao.ledger.schema` defines the ledger's own tables and the shared `metadata`; each capability
defines its tables in its own module on that metadata and names it in its declaration
(`Capability.tables`). Importing this module loads them all, so the ledger itself does not import
the capabilities built on it.
"""

from fapiao.ledger.schema import metadata
from fapiao.plugins import load

load("tables")  # the tables every registered capability declares

__all__ = ["metadata"]
