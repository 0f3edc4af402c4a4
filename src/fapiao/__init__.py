"""fapiao: a company's own source of truth for its 发票.

Packages follow the data flow in DESIGN.md: parse -> validate -> ledger -> (sync, reconcile, backup),
with cli and web at the edges.
"""

__version__ = "0.1.0"
