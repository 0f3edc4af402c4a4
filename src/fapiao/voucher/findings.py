"""Finding codes of the voucher export."""

from fapiao.findings import Severity

CODES = {
    "voucher_account_invalid": (
        Severity.ERROR,
        "科目设置无效：{detail}",
        "bad account mapping: {detail_en}",
    ),
}
