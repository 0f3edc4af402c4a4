"""The review queue: inputs that could not be fully read, or failed a check, wait here with what
was read, for a person to complete and accept (recorded through the import path) or reject.

The queue is the ledger's `quarantine` table (migration 0009r adds the readings, the state and the
resolution). `queue` reads it, tenant-scoped; `resolve` accepts and rejects through `Ledger.write()`;
`complete` asks the authority (查验) for the whole record. Imports the ledger and below, parse's
`reading`, validation and the authority connector; never the edges.
"""
