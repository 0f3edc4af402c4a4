"""The ASGI entry point for `fapiao serve` (and any ASGI server): the ledger from $FAPIAO_DB."""

from fapiao.web.app import create_app

app = create_app()
