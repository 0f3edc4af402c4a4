"""Logs and process counters: what every floor of fapiao reports to, so it sits below the ledger.

`logs` is the structured operation log (structlog); `counters` the counters and histograms of this
process (imports, rejects, parse time, web requests); `transport` the metered HTTP transport that
counts calls to the tax platform. The package imports nothing else of fapiao's, so the ledger's
write path, the import pipeline and the capabilities can all report without importing upward.
`fapiao.ops.metrics` adds the readings from the ledger and serves both at `/metrics`.
"""
