"""The authority (tax platform) side: the connector protocol, the HTTP connector, the read-only
connector over the platform's export files. The sandbox platform that speaks the same protocol for
development and tests lives apart, in `fapiao_dev.sandbox`.

Imports the model, codec, money, findings and validation; never the ledger, sync, web or CLI layers.
"""
