"""The authority (tax platform) side: the connector protocol, the HTTP connector, the read-only
connector over the platform's export files, and the sandbox platform used for development and tests.

Imports the model, codec, money, findings and validation; never the ledger, sync, web or CLI layers.
"""
