"""Getting every invoice to the authority exactly once, and noticing when one is not there.

`tables` (the outbox and the worker's shared state), `outbox` (entries written in the same
transaction as their invoice, claims, results), `drafts` (`fapiao issue`), `breaker` (offline mode),
`readback` (confirmation by list/get), `worker` (the loop `fapiao sync` runs).

Imports the ledger and the authority's connector protocol; never the web or CLI layers.
"""
