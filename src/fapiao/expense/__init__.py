"""入账 and 报销 of received invoices: which are booked (with the voucher), which are reimbursed
(under which claim, for whom), and never one invoice in two claims, in any tenant of the ledger."""
