"""Users, roles, tenant grants, sessions, API tokens and login lock-out.

Every login and every change of a user or a permission is an event in the ledger's audit chain,
written through `Ledger.write()`. Knows nothing of HTTP: the web layer calls in with plain values.
"""
