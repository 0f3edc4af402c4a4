"""Accounting vouchers (记账凭证) of a month's invoices for import into 用友 and 金蝶: one voucher per
invoice, its accounts (科目) from a per-tenant mapping of categories."""
