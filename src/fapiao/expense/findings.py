"""Finding codes of booking and reimbursement: why a 入账 or 报销 was refused (nothing changed)."""

from fapiao.findings import Severity

E = Severity.ERROR

CODES = {
    "expense_not_found": (E, "账上没有这张发票：{value}", "no such invoice in the ledger: {value}"),
    "expense_ambiguous": (
        E,
        "{value} 在多个企业的账上，请用 --tenant 指明",
        "{value} is in several companies' books; name one with --tenant",
    ),
    "expense_not_received": (
        E,
        "{value} 是销项发票，只有进项发票可以{what_zh}",
        "{value} is an issued invoice; only received invoices can be {what}",
    ),
    "expense_not_normal": (
        E,
        "{value} 是{status_zh}发票，不能{what_zh}",
        "{value} is {status}; it cannot be {what}",
    ),
    "expense_claimed_before": (
        E,
        "{value} 已在报销单 {claim}（{person}，{tenant}，{at}）中报销，不能重复报销",
        "{value} was already claimed in {claim} ({person}, {tenant}, {at}); no second claim",
    ),
    "expense_not_claimed": (E, "{value} 未在报销中", "{value} is not in any open claim"),
    "expense_claim_unknown": (
        E,
        "报销单 {claim} 没有未撤销的发票",
        "claim {claim} holds no invoice to release",
    ),
    "expense_claim_missing": (
        E,
        "请填写报销单号（--claim）",
        "a claim number is required (--claim)",
    ),
    "book_already": (
        E,
        "{value} 已入账（凭证 {voucher}，{at}）",
        "{value} is already booked (voucher {voucher}, {at})",
    ),
    "book_not_booked": (E, "{value} 未入账，无需撤销", "{value} is not booked, nothing to undo"),
}
