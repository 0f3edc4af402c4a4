"""Finding codes of 红字确认单: why a request, approval, confirmation or rejection was refused."""

from fapiao.findings import Severity

E = Severity.ERROR

CODES = {
    "red_blue_not_found": (E, "账上没有这张蓝字发票：{value}", "no such blue invoice: {value}"),
    "red_blue_ambiguous": (
        E,
        "{value} 在多个企业的账上，请用 --tenant 指明",
        "{value} is in several companies' books; name one with --tenant",
    ),
    "red_blue_invalid": (
        E,
        "{value} 不能红冲：{detail}",
        "{value} cannot be reversed: {detail_en}",
    ),
    "red_reason_invalid": (
        E,
        "红冲原因无效：{value}（可用 开票有误、销货退回、服务中止、销售折让）",
        "unknown reason {value}: use 开票有误, 销货退回, 服务中止 or 销售折让",
    ),
    "red_items_invalid": (E, "红冲明细无效：{detail}", "bad red lines: {detail_en}"),
    "red_exceeds_blue": (
        E,
        "红冲{what}超出蓝字发票：本次 {asked}，已红冲及待确认 {held}，蓝字 {blue}",
        "the reversal exceeds the blue invoice ({what_en}): asked {asked}, already reversed or "
        "pending {held}, blue {blue}",
    ),
    "red_request_not_found": (E, "没有红字确认单 {value}", "no 红字确认单 {value}"),
    "red_wrong_state": (
        E,
        "红字确认单 {value} 的状态是“{state_zh}”，不能{what_zh}",
        "红字确认单 {value} is {state}; it cannot be {what}",
    ),
    "red_expired": (
        E,
        "红字确认单 {value} 已超过 72 小时确认期限（{deadline}），已作废",
        "红字确认单 {value} was not confirmed within 72 hours ({deadline}); it has expired",
    ),
    "red_four_eyes": (
        E,
        "本企业实行四眼原则：红字确认单 {value} 须由申请人（{by}）以外的人批准",
        "four eyes: 红字确认单 {value} must be approved by someone other than {by}",
    ),
}
