"""Operations: self-checks and health, structured logs, metrics, the status page, notices and
repair tickets (报修).

- `checks`: each health check is a function returning a `Check` (a finding with a level);
  `run_checks` runs them, `record_run` keeps the history the status page shows.
- `logs`: structlog set-up (JSON when not on a terminal), request and job ids, the operation log.
- `metrics`: Prometheus metrics, counted where things happen or read from the ledger at scrape time.
- `status`, `notices`, `tickets`: what the status page and the repair desk show and change.
- `daily`: the self-check `serve` runs once a day.

Every change goes through `Ledger.write()` with its event. This package reads the sync, backup,
reconcile and contingency tables when they exist; it knows no Typer or FastAPI. `logs` imports
nothing of ours, so the ledger's write path can report to it.
"""
