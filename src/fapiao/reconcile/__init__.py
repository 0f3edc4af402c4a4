"""Reconciliation: the ledger ⇄ the authority's list, the findings report, and the remedies.

`engine` runs the comparison as set operations in SQL (DuckDB, or the ledger's PostgreSQL), `report`
writes JSON, HTML and xlsx, `remedies` turns each finding into an action that is carried to the end.
Imports the model, ledger and authority layers; never the web or CLI layers.
"""
