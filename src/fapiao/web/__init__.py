"""The web app: server-rendered pages (Jinja2), the REST API under /api/v1, sessions and tokens.

Only this package (and the CLI) knows FastAPI. It reads through `fapiao.ledger.queries` (the
listings of `ledger.listing`, shared with the CLI) and `web.search`, writes through
`fapiao.ingest` / `Ledger.write()`, and checks every request against the user's role and granted
tenants (`web.security`). `create_app` in `web.app` builds it.
"""
