"""The ledger: schema, the one write path with its hash-chained event log, original files, quarantine.

Imports the model, codec and findings; never the web or CLI layers.
"""
