"""`fapiao demo`: `run` builds the ledger and imports, then the sync (`sync`), reconcile
(`reconcile`) and web login (`web`) acts follow in that order."""
