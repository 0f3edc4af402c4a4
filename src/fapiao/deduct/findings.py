"""Finding codes of deduction: why a 勾选, 撤销勾选 or 统计确认 was refused (nothing changed)."""

from fapiao.findings import Severity

E = Severity.ERROR

CODES = {
    "deduct_not_found": (
        E,
        "本企业账上没有这张发票：{value}",
        "no such invoice in this company's books: {value}",
    ),
    "deduct_not_received": (
        E,
        "{value} 是销项发票，只有进项发票可以勾选",
        "{value} is an issued invoice; only received invoices can be selected",
    ),
    "deduct_not_normal": (
        E,
        "{value} 是{status_zh}发票，不能勾选",
        "{value} is {status}; only a normal (blue) invoice can be selected",
    ),
    "deduct_other_period": (
        E,
        "{value} 已在所属期 {period} 勾选，请先在该期撤销",
        "{value} is already selected in {period}; unselect it there first",
    ),
    "deduct_not_selected": (
        E,
        "{value} 未勾选，无需撤销",
        "{value} is not selected, nothing to undo",
    ),
    "deduct_verify_failed": (
        E,
        "{value} 查验结果为“{result_zh}”（{at}），不能勾选",
        "{value}: 查验 says {result} ({at}); it cannot be selected",
    ),
    "deduct_period_confirmed": (
        E,
        "所属期 {period} 已统计确认（{at}，{by}），不能再更改",
        "period {period} was confirmed ({at}, {by}); it can no longer change",
    ),
    "deduct_period_early": (
        E,
        "{value} 开具于 {date}，晚于所属期 {period}",
        "{value} was issued on {date}, after the period {period}",
    ),
    "deduct_reason_missing": (
        E,
        "不抵扣勾选须填写原因（--reason）",
        "a no_deduct selection needs a reason (--reason)",
    ),
    "deduct_purpose_invalid": (
        E,
        "用途无效：{value}（可用 deduct 抵扣、no_deduct 不抵扣）",
        "unknown purpose {value}: use deduct or no_deduct",
    ),
}
