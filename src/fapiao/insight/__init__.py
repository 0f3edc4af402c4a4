"""Insight: what the ledger says about itself and its counterparties.

- `verify`: 查验 of received invoices against the authority (connector `verify`), with the per-invoice
  daily limit and a request rate limit; each result stored, an audit event, a finding when the
  authority does not know the invoice or disagrees.
- `categories`: expense/revenue categories per invoice and line from the 税收分类 short name
  (`*餐饮服务*…`) or the 19-digit classification code; a per-tenant category table and
  counterparty → category rules learned from the accountant's corrections.
- `facts`: narrow derived tables (one row per invoice, one per line) kept up to date from the event
  log, so that statistics read covering indexes instead of the wide invoice rows.
- `stats`: totals and tax per tenant and period by direction, month, counterparty, rate, kind,
  category, authority state and verification result.
- `match`: where both parties of an invoice are tenants, the issued and received records compared.

Imports the model, the ledger and the authority's connector protocol; never the web app or the CLI.
"""
