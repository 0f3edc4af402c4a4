"""The words, amounts and times a person sees, Chinese first and English beside it.

One table per code family (票种, 状态, 方向, 上传状态, 税率, 角色), so that the command line, printouts,
exports and pages name a code the same way; amounts with thousands separators; times in Asia/Shanghai
with the zone named (stored values stay UTC). Imports nothing of ours.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

KINDS = {
    "digital_special": ("电子发票（增值税专用发票）", "digital VAT special invoice"),
    "digital_normal": ("电子发票（普通发票）", "digital normal invoice"),
    "vat_electronic_special": ("增值税电子专用发票", "VAT electronic special invoice"),
    "vat_electronic_normal": ("增值税电子普通发票", "VAT electronic normal invoice"),
    "vat_special": ("增值税专用发票", "VAT special invoice (paper)"),
    "vat_normal": ("增值税普通发票", "VAT normal invoice (paper)"),
    "other": ("其他发票", "other invoice"),
}
SHORT_KINDS = {
    "digital_special": ("数电专票", "digital special"),
    "digital_normal": ("数电普票", "digital normal"),
    "vat_electronic_special": ("电子专票", "e-special"),
    "vat_electronic_normal": ("电子普票", "e-normal"),
    "vat_special": ("纸质专票", "paper special"),
    "vat_normal": ("纸质普票", "paper normal"),
    "other": ("其他", "other"),
}
STATUSES = {"normal": ("正常", "normal"), "red": ("红字", "red"), "void": ("作废", "void")}
DIRECTIONS = {"issued": ("销项", "issued"), "received": ("进项", "received")}
AUTHORITY_STATES = {
    "local": ("未上传", "local"),
    "queued": ("待上传", "queued"),
    "uploaded": ("已上传", "uploaded"),
    "confirmed": ("平台已确认", "confirmed"),
    "missing": ("平台缺失", "missing at the platform"),
    "mismatch": ("与平台不符", "differs from the platform"),
}
VERIFICATIONS = {
    "match": ("查验一致", "verified"),
    "mismatch": ("查验不符", "differs"),
    "not_found": ("查无此票", "not found"),
    "unverified": ("未查验", "not verified"),
}
RATE_MARKERS = {"exempt": ("免税", "exempt"), "nontaxable": ("不征税", "not taxable")}
RATE_MARKERS["margin"] = ("差额征税", "margin")
# the statistics' rate of an invoice without line items (`insight.facts.NO_RATE`)
RATE_MARKERS[""] = ("无明细", "no line items")


def zh(table: dict[str, tuple[str, str]], code: str | None) -> str:
    """The Chinese word for a code; the code itself when the table does not know it."""
    return table.get(code or "", (code or "", ""))[0]


def en(table: dict[str, tuple[str, str]], code: str | None) -> str:
    return table.get(code or "", ("", code or ""))[1]


def rate(code: str | None) -> str:
    """0.13 -> 13%, 0.015 -> 1.5%, exempt -> 免税."""
    if code in RATE_MARKERS:
        return RATE_MARKERS[code][0]
    try:
        return f"{float(code or '') * 100:g}%"
    except ValueError:
        return code or ""


def yuan(text: str | None) -> str:
    """'1234567.80' -> '1,234,567.80' (amounts as canonical JSON writes them)."""
    raw = text or ""
    sign, body = ("-", raw[1:]) if raw.startswith("-") else ("", raw)
    whole, dot, part = body.partition(".")
    if not whole.isdigit():
        return raw
    return f"{sign}{int(whole):,}{dot}{part}"


ROLES = {
    "admin": ("管理员", "administrator"),
    "accountant": ("会计", "accountant"),
    "auditor": ("审计", "auditor"),
    "viewer": ("只读", "viewer"),
    "support": ("运维支持", "support"),
}
SOURCES = {
    "upload": ("上传", "upload"),
    "file": ("文件导入", "file"),
    "web": ("网页上传", "web upload"),
    "cli": ("命令行导入", "command line"),
    "authority": ("税务平台", "tax platform"),
    "draft": ("开票草稿", "draft"),
    "import": ("导入", "import"),
    "sync": ("平台同步", "platform sync"),
    "manual": ("手工录入", "entered by hand"),
    "folder": ("文件夹", "folder"),
    "mail": ("邮件", "mail"),
    "email": ("邮件", "mail"),
}
SEVERITIES = {"error": ("错误", "error"), "warning": ("警告", "warning"), "info": ("提示", "note")}
REVIEW_STATES = {
    "open": ("待处理", "open"),
    "accepted": ("已接受", "accepted"),
    "rejected": ("已拒收", "rejected"),
}
INCIDENT_STATES = {"open": ("处理中", "open"), "closed": ("已关闭", "closed")}
INCIDENT_CAUSES = {
    "manual": ("人工登记", "entered by hand"),
    "breaker": ("平台连接中断", "platform unreachable"),
    "reconcile": ("对账发现", "found by reconciling"),
}
NOTE_KINDS = {
    "opened": ("开始", "opened"),
    "closed": ("关闭", "closed"),
    "note": ("备注", "note"),
}
REISSUE_STATES = {
    "draft": ("草稿", "draft"),
    "submitted": ("已提交", "submitted"),
    "approved": ("已批准", "approved"),
    "reissued": ("已补开", "re-issued"),
    "rejected": ("已驳回", "rejected"),
}
CATEGORY_SOURCES = {
    "code": ("按税收分类编码", "by tax code"),
    "name": ("按商品简称", "by item name"),
    "rule": ("按对方规则", "by counterparty rule"),
    "override": ("人工更正", "corrected by hand"),
}
ACTION_STATES = {
    "open": ("待处理", "open"),
    "in_progress": ("处理中", "in progress"),
    "resolved": ("已解决", "resolved"),
    "waived": ("已豁免", "waived"),
}
FIELDS = {
    "kind": ("票种", "kind"),
    "code": ("发票代码", "code"),
    "number": ("发票号码", "number"),
    "check_code": ("校验码", "check code"),
    "issue_date": ("开票日期", "issue date"),
    "amount": ("金额", "amount"),
    "tax": ("税额", "tax"),
    "total": ("价税合计", "total"),
    "status": ("发票状态", "status"),
    "seller.name": ("销方名称", "seller name"),
    "seller.tax_id": ("销方识别号", "seller tax ID"),
    "buyer.name": ("购买方名称", "buyer name"),
    "buyer.tax_id": ("购方识别号", "buyer tax ID"),
    "remarks": ("备注", "remarks"),
    "issuer": ("开票人", "issuer"),
    # 勾选 of a received invoice, as reconcile compares it with the platform's
    "selection": ("勾选状态", "selection"),
    "purpose": ("用途", "purpose"),
    "period": ("税款所属期", "period"),
}
# a line item's fields, as `field_zh` names `items[N].field`
ITEM_FIELDS = {
    "name": "项目名称",
    "spec": "规格型号",
    "unit": "单位",
    "quantity": "数量",
    "unit_price": "单价",
    "amount": "金额",
    "tax_rate": "税率",
    "tax": "税额",
}


def field_zh(path: str) -> str:
    """A field's path in words: 'seller.tax_id' -> 销方识别号, 'items[2].amount' -> 第 2 行金额;
    a path it does not know stays as it is."""
    if path in FIELDS:
        return FIELDS[path][0]
    head, dot, rest = path.partition("].")
    if dot and head.startswith("items[") and head[6:].isdigit() and rest in ITEM_FIELDS:
        return f"第 {head[6:]} 行{ITEM_FIELDS[rest]}"
    return path


DEDUCTION = {
    "selected": ("已勾选", "selected"),
    "unselected": ("未勾选", "not selected"),
    "deduct": ("抵扣", "deduct"),
    "no_deduct": ("不抵扣", "not deducted"),
}
# the audit chain's events (`events.action`) as the pages name them; the code stays beside the word
EVENTS = {
    "invoice.imported": ("导入发票", "invoice imported"),
    "invoice.completed": ("以原件补全", "completed from its file"),
    "invoice.conflict": ("冲突副本", "conflicting copy"),
    "invoice.authority_state": ("平台状态变更", "platform state changed"),
    "invoice.drafted": ("开票草稿", "draft queued"),
    "invoice.voided": ("作废", "voided"),
    "invoice.verified": ("查验", "verified"),
    "invoice.matched": ("对票", "matched"),
    "invoice.manual": ("录入纸质发票", "paper invoice entered"),
    "invoice.linked": ("关联电子发票", "linked to its e-invoice"),
    "invoice.reissue_of": ("补开", "re-issue of"),
    "input.quarantined": ("转入复核", "sent to review"),
    "review.accepted": ("复核接受", "review accepted"),
    "review.rejected": ("复核拒收", "review rejected"),
    "review.verified": ("复核查验", "review verified"),
    "outbox.enqueued": ("进入发件箱", "queued for upload"),
    "outbox.claimed": ("开始上传", "upload started"),
    "outbox.answered": ("平台已答复", "platform answered"),
    "outbox.read_back": ("平台回读确认", "read back from the platform"),
    "outbox.retried": ("重试", "retried"),
    "outbox.released": ("重新排队", "released"),
    "outbox.parked_by_hand": ("手工搁置", "parked by hand"),
    "outbox.due_now": ("立即上传", "due now"),
    "sync.parked": ("上传搁置", "upload parked"),
    "sync.crashed": ("同步异常", "sync crashed"),
    "sync.probe_failed": ("平台探测失败", "platform probe failed"),
    "sync.breaker_opened": ("熔断开启", "circuit breaker opened"),
    "sync.breaker_closed": ("熔断恢复", "circuit breaker closed"),
    "reconcile.run": ("对账", "reconciled"),
    "reconcile.action_opened": ("新建待办", "action opened"),
    "reconcile.action_updated": ("更新待办", "action updated"),
    "reconcile.action_requested": ("申请处理（待复核）", "remedy requested"),
    "reconcile.action_approved": ("批准处理", "remedy approved"),
    "reconcile.action_performed": ("执行处理", "remedy carried out"),
    "reconcile.action_closed": ("关闭待办", "action closed"),
    "reconcile.action_reopened": ("重新打开待办", "action reopened"),
    "incident.opened": ("登记故障", "incident opened"),
    "incident.closed": ("关闭故障", "incident closed"),
    "incident.note": ("处理记录", "incident note"),
    "incident.pinned": ("关联故障", "pinned to an incident"),
    "manual.link_proposed": ("建议关联", "link proposed"),
    "manual.link_confirmed": ("确认关联", "link confirmed"),
    "manual.link_rejected": ("驳回关联", "link rejected"),
    "reissue.created": ("创建补开申请", "re-issue request created"),
    "reissue.attached": ("上传补开材料", "material attached"),
    "reissue.submitted": ("提交补开申请", "re-issue request submitted"),
    "reissue.reissued": ("已补开", "re-issued"),
    "red.requested": ("申请红字确认单", "red-letter requested"),
    "red.sent": ("红字确认单已提交", "red-letter sent"),
    "red.approved": ("红字确认单已确认", "red-letter approved"),
    "red.rejected": ("红字确认单被拒", "red-letter rejected"),
    "red.issued": ("已开红字发票", "red invoice issued"),
    "red.expired": ("红字确认单过期", "red-letter expired"),
    "book.booked": ("入账", "booked"),
    "book.undone": ("撤销入账", "booking undone"),
    "expense.claimed": ("报销", "claimed"),
    "expense.released": ("撤销报销", "claim released"),
    "deduct.selected": ("勾选抵扣", "selected for deduction"),
    "deduct.unselected": ("取消勾选", "deduction unselected"),
    "deduct.confirmed": ("确认勾选", "deduction confirmed"),
    "category.set": ("设置类别", "category set"),
    "category.corrected": ("更正类别", "category corrected"),
    "category.rule": ("设置对方类别规则", "counterparty rule set"),
    "voucher.account_set": ("设置科目", "account set"),
    "orders.imported": ("导入订单", "orders imported"),
    "orders.mapping_saved": ("保存订单列映射", "order mapping saved"),
    "order.updated": ("更新订单", "order updated"),
    "insight.refreshed": ("统计刷新", "statistics refreshed"),
    "audit.checkpoint": ("审计链检查点", "audit checkpoint"),
    "ops.checked": ("自检", "self-check"),
    "tenant.added": ("添加企业", "company added"),
    "tenant.policy": ("企业审批规则", "company policy set"),
    "tenant.paused": ("暂停开票", "invoicing paused"),
    "tenant.resumed": ("恢复开票", "invoicing resumed"),
    "user.added": ("添加用户", "user added"),
    "user.login": ("登录", "logged in"),
    "user.logout": ("退出", "logged out"),
    "user.login_failed": ("登录失败", "login failed"),
    "user.locked": ("账户锁定", "account locked"),
    "user.unlocked": ("账户解锁", "account unlocked"),
    "user.disabled": ("停用用户", "user disabled"),
    "user.enabled": ("启用用户", "user enabled"),
    "user.role_changed": ("修改角色", "role changed"),
    "user.granted": ("授权企业", "company granted"),
    "user.revoked": ("收回企业授权", "company revoked"),
    "token.created": ("生成 API 令牌", "API token created"),
    "token.revoked": ("吊销 API 令牌", "API token revoked"),
    "notice.posted": ("发布公告", "notice posted"),
    "notice.withdrawn": ("撤回公告", "notice withdrawn"),
    "notify.channel_added": ("添加通知通道", "channel added"),
    "notify.channel_removed": ("删除通知通道", "channel removed"),
    "notify.rule_added": ("添加通知规则", "rule added"),
    "notify.rule_removed": ("删除通知规则", "rule removed"),
    "notify.subscriptions_set": ("设置订阅", "subscriptions set"),
    "schedule.added": ("添加定时任务", "schedule added"),
    "schedule.removed": ("删除定时任务", "schedule removed"),
    "schedule.ran": ("定时任务运行", "schedule ran"),
    "schedule.crashed": ("定时任务异常", "schedule crashed"),
    "ticket.filed": ("报修", "ticket filed"),
    "ticket.triaged": ("报修分诊", "ticket triaged"),
    "ticket.assigned": ("报修指派", "ticket assigned"),
    "ticket.answered": ("报修答复", "ticket answered"),
    "ticket.commented": ("报修留言", "ticket commented"),
    "ticket.closed": ("报修关闭", "ticket closed"),
    "ticket.reopened": ("报修重开", "ticket reopened"),
    "backup.backup": ("备份", "backed up"),
    "backup.prune": ("清理旧备份", "backups pruned"),
    "backup.drill": ("恢复演练", "restore drill"),
}
# what an audit event is about (`events.entity`)
ENTITIES = {
    "invoice": ("发票", "invoice"),
    "conflict": ("冲突副本", "conflicting copy"),
    "quarantine": ("复核项", "review item"),
    "outbox": ("发件箱", "outbox"),
    "sync": ("同步", "sync"),
    "tenant": ("企业", "company"),
    "user": ("用户", "user"),
    "incident": ("故障事件", "incident"),
    "reconcile_run": ("对账", "reconciliation"),
    "reconcile_action": ("对账待办", "action"),
    "red_request": ("红字确认单", "red-letter request"),
    "reissue": ("补开申请", "re-issue request"),
    "checkpoint": ("检查点", "checkpoint"),
    "insight": ("统计", "statistics"),
    "ops_check": ("自检", "self-check"),
    "backup_run": ("备份记录", "backup run"),
    "ticket": ("报修单", "ticket"),
    "voucher_account": ("凭证科目", "voucher account"),
    "notify_channel": ("通知通道", "notification channel"),
    "notify_rule": ("通知规则", "notification rule"),
}
FAMILIES = {
    "kind": KINDS,
    "short_kind": SHORT_KINDS,
    "status": STATUSES,
    "direction": DIRECTIONS,
    "authority": AUTHORITY_STATES,
    "verification": VERIFICATIONS,
    "role": ROLES,
    "source": SOURCES,
    "severity": SEVERITIES,
    "review": REVIEW_STATES,
    "incident": INCIDENT_STATES,
    "cause": INCIDENT_CAUSES,
    "note": NOTE_KINDS,
    "reissue": REISSUE_STATES,
    "category_source": CATEGORY_SOURCES,
    "action": ACTION_STATES,
    "field": FIELDS,
    "deduction": DEDUCTION,
    "event": EVENTS,
    "entity": ENTITIES,
}


def word(family: str, code: str | None, lang: str = "zh") -> str:
    """The word for `code` in a family named in FAMILIES ('status', 'kind', …); 'rate' formats a rate."""
    if family == "rate":
        return rate(code) if lang == "zh" else _rate_en(code)
    table = FAMILIES[family]
    return en(table, code) if lang == "en" else zh(table, code)


def _rate_en(code: str | None) -> str:
    return RATE_MARKERS[code][1] if code in RATE_MARKERS else rate(code)


def fen(amount: int | None) -> str:
    """Integer fen -> '1,234,567.80' (two decimals, thousands separated); None -> ''."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(int(amount)), 100)
    return f"{sign}{whole:,}.{part:02d}"


def amount(value: int | str | None) -> str:
    """Fen (int) or a canonical yuan string ('1234.50') as a person reads it: '1,234.50'."""
    if isinstance(value, int) and not isinstance(value, bool):
        return fen(value)
    return yuan(None if value is None else str(value))


# --- time -----------------------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZONE = {"zh": "北京时间", "en": "CST (UTC+8)"}


def to_local(value: str | dt.datetime | None) -> dt.datetime | None:
    """A stored moment (ISO text or datetime; naive means UTC) in Asia/Shanghai; None when empty or
    unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # stored naive values are UTC
    return moment.astimezone(SHANGHAI)


def shown(value: str | dt.datetime | None, lang: str = "zh", *, seconds: bool = False) -> str:
    """A stored moment for a person: `YYYY-MM-DD HH:MM 北京时间`; a bare date stays a date;
    '' for nothing; text that is not a moment comes back as it was."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value.strip()) == 10:
        return value.strip()  # a date (开票日期) has no zone to convert
    local = to_local(value)
    if local is None:
        return str(value)
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local.strftime(pattern)} {ZONE.get(lang, ZONE['zh'])}"


def zone_name(lang: str = "zh") -> str:
    return ZONE.get(lang, ZONE["zh"])


# --- spreadsheet columns ---------------------------------------------------------------------------

# The listing's columns as a person's export names them: the platform's own 全量发票查询 column names
# where it has one (发票代码, 销方识别号, 价税合计 …), plain words elsewhere.
HEADERS = {
    "id": ("台账编号", "id"),
    "direction": ("方向", "direction"),
    "kind": ("发票票种", "kind"),
    "code": ("发票代码", "code"),
    "number": ("发票号码", "number"),
    "issue_date": ("开票日期", "issue_date"),
    "seller_name": ("销方名称", "seller_name"),
    "seller_tax_id": ("销方识别号", "seller_tax_id"),
    "buyer_name": ("购买方名称", "buyer_name"),
    "buyer_tax_id": ("购方识别号", "buyer_tax_id"),
    "amount": ("金额", "amount"),
    "tax": ("税额", "tax"),
    "total": ("价税合计", "total"),
    "status": ("发票状态", "status"),
    "authority_state": ("平台上传状态", "authority_state"),
    "source": ("来源", "source"),
    "category": ("类别", "category"),
    "verification": ("查验结果", "verification"),
}
_COLUMN_FAMILY = {
    "direction": "direction",
    "kind": "kind",
    "status": "status",
    "authority_state": "authority",
    "source": "source",
    "verification": "verification",
}
AMOUNT_COLUMNS = frozenset({"amount", "tax", "total"})


def headers(columns: list[str], lang: str = "zh") -> list[str]:
    """Column names for an export: Chinese for a person, the field names (`--headers en`) for scripts."""
    if lang == "en":
        return list(columns)
    return [HEADERS.get(c, (c, c))[0] for c in columns]


def export_cells(
    columns: list[str], cells: list[object], lang: str = "zh", *, numbers: bool = False
) -> list[object]:
    """One export row: codes as words for a person (codes kept under `en`, which scripts read);
    with `numbers`, amounts become Decimal yuan so a spreadsheet stores numbers, not text."""
    out: list[object] = []
    for column, value in zip(columns, cells, strict=True):
        if numbers and column in AMOUNT_COLUMNS and isinstance(value, str) and value:
            out.append(_decimal(value))
        elif lang != "en" and column in _COLUMN_FAMILY and isinstance(value, str):
            out.append(word(_COLUMN_FAMILY[column], value) if value else "")
        else:
            out.append(value)
    return out


def _decimal(text: str) -> object:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text


_PERIOD = re.compile(r"(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))?\s*年?")


def normal_period(text: str | None) -> str | None:
    """A period as a person types it -> YYYY-MM or YYYY: '2024/11', '2024.11', '2024年11月',
    '202411', '2024-1' -> '2024-11' / '2024-01'; '2024年' -> '2024'. Anything else is returned as
    it is, for the command's own check to refuse with its message."""
    if text is None:
        return None
    found = _PERIOD.fullmatch(text.strip())
    if found is None:
        return text
    year, month = found.group(1), found.group(2) or found.group(3)
    if month is None:
        return year
    return f"{year}-{int(month):02d}" if 1 <= int(month) <= 12 else text
