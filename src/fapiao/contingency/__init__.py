"""Contingency: what to do while the authority is down or has lost invoices.

- `incidents`: a fault with its time window and scope, opened by the circuit breaker, by a
  reconciliation that finds a cluster of missing invoices, or by hand; the affected invoices are
  computed from the ledger and the outbox; a timeline of notes; the 情况说明 PDF (`statement`).
- `pause`: per-tenant pause of invoice operations (the outbox holds, issuing is refused).
- `manual`: paper invoices entered by hand (source `manual`), later linked to their e-invoice.
- `reissue`: 补开 requests with materials, deadline and states, closed when the invoice arrives.
- `orders`: expected invoices from orders/contracts, matched against the ledger.

Every change goes through `Ledger.write()` with its event. This package imports the ledger, the
model and the sync tables; it knows no Typer or FastAPI.
"""
