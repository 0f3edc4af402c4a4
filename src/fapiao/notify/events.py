"""The events people can be told about, and the message each one becomes (Chinese first, English too).

An event's `facts` are plain values chosen by the place that raised it. Money travels as fen in a
fact whose name ends in `_fen`; the message shows it in yuan (`missing_total_fen` -> `missing_total`,
"1,130.00"). A fact a template names but the event did not carry prints as "?", so a message is
always sent, even when a raising place forgot a figure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from fapiao.capability import Event
from fapiao.money import format_fen

EVENTS: tuple[Event, ...] = (
    Event("reconcile.findings", "对账发现差异", "reconcile found differences"),
    Event("sync.breaker_open", "税务平台不可用，已转离线", "authority down, working offline"),
    Event("sync.breaker_closed", "税务平台恢复，已重新上传", "authority back, uploads resumed"),
    Event("sync.parked", "上传被拒，需人工处理", "uploads refused, need a person"),
    Event("check.failed", "自检未通过", "self-check failed"),
    Event("backup.failed", "备份失败", "backup failed"),
    Event("backup.stale", "备份过旧", "no recent backup"),
    Event("drill.failed", "恢复演练失败", "restore drill failed"),
    Event("prune.failed", "清理旧备份失败", "backup prune failed"),
    Event("incident.opened", "新的故障事件", "incident opened"),
    Event("action.due", "对账事项即将到期", "reconcile actions due"),
    Event("reissue.due", "补开申请即将到期", "re-issue requests due"),
    Event("ticket.new", "新的报修单", "new repair ticket"),
    Event("audit.checkpoint", "审计链检查点（每日签名）", "signed audit checkpoint (daily)"),
    Event("notify.test", "测试消息", "test message"),
)
NAMES = frozenset(e.name for e in EVENTS)
# raised for the whole ledger (tenant None): only users who see every company may subscribe
LEDGER_WIDE = frozenset(
    {"sync.breaker_open", "sync.breaker_closed", "check.failed", "backup.failed", "backup.stale",
     "drill.failed", "prune.failed", "audit.checkpoint"}
)  # fmt: skip

# event -> (Chinese line, English line, link path or "")
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "reconcile.findings": (
        "{tenant} {period} 对账：平台缺少我方 {missing_at_authority} 张（价税合计 {missing_at_authority_total} 元），"
        "我方缺少平台 {missing_in_ledger} 张（价税合计 {missing_in_ledger_total} 元），"
        "金额不符 {mismatched} 张。",
        "{tenant} {period}: the platform lacks {missing_at_authority} of ours "
        "({missing_at_authority_total} yuan), we lack {missing_in_ledger} of the platform's "
        "({missing_in_ledger_total} yuan), {mismatched} differ.",
        "/actions",  # the actions it filed, with their remedies
    ),
    "sync.breaker_open": (
        "税务平台连续失败 {failures} 次，已转为离线模式，发票继续在本地记录。原因：{reason}",
        "The authority failed {failures} times in a row; working offline, invoices kept locally. {reason}",
        "/status",
    ),
    "sync.breaker_closed": (
        "税务平台已恢复，离线 {outage} 秒；积压发票开始上传。",
        "The authority is back after {outage} s offline; the backlog is being sent.",
        "/status",
    ),
    "sync.parked": (
        "{count} 张发票上传被平台拒绝，需人工处理。原因：{reason}",
        "{count} invoices were refused by the authority and need a person: {reason}",
        "/status",
    ),
    "check.failed": (
        "自检未通过：{failed}",
        "Self-check failed: {failed}",
        "/status",
    ),
    "backup.failed": (
        "备份到 {target} 失败：{error}",
        "Backup to {target} failed: {error}",
        "/status",
    ),
    "backup.stale": (
        "最近一次成功备份在 {age_hours} 小时前（{last}）。",
        "The last good backup is {age_hours} hours old ({last}).",
        "/status",
    ),
    "prune.failed": (  # raised by `backup.tables.record_runs`, e.g. a target busy with a backup
        "清理 {target} 上的旧备份失败：{error}",
        "Pruning old backups on {target} failed: {error}",
        "/status",
    ),
    "drill.failed": (
        "恢复演练失败（{snapshot}）：{problems}",
        "Restore drill failed ({snapshot}): {problems}",
        "/status",
    ),
    "incident.opened": (
        "新故障事件 #{incident_id}：{title}",
        "Incident #{incident_id} opened: {title}",
        "/contingency/incidents/{incident_id}",
    ),
    "action.due": (
        "{count} 项对账事项将在 {days} 天内到期，最早 {first_due}：{keys}",
        "{count} reconcile actions are due within {days} days, the first on {first_due}: {keys}",
        "/actions",
    ),
    "reissue.due": (
        "{count} 份补开申请临近截止，最早 {first_deadline}：{ids}",
        "{count} re-issue requests near their deadline, the first on {first_deadline}: {ids}",
        "/contingency/reissue",
    ),
    "ticket.new": (
        "新报修单 #{ticket_id}（{category}）：{symptoms}",
        "New repair ticket #{ticket_id} ({category}): {symptoms}",
        "/tickets/{ticket_id}",
    ),
    # the signed head leaves the building: its JSON (`checkpoint_json`, the last line) is what
    # `fapiao audit verify --checkpoint FILE` and `python -m fapiao.proof FILE` take
    "audit.checkpoint": (
        "审计链检查点：共 {tree_size} 个事件，Merkle 根 {root}，签名密钥 {key_id}，时间 {time}。"
        "请另行保存下面的 JSON（存为文件后可用 fapiao audit verify --checkpoint 文件 核对账簿）。",
        "Audit checkpoint: {tree_size} events, Merkle root {root}, signing key {key_id}, at "
        "{time}. Keep the JSON below elsewhere; saved as a file, `fapiao audit verify "
        "--checkpoint FILE` checks the ledger against it.",
        "",
    ),
    "notify.test": (
        "这是来自 fapiao 的测试消息（通道 {channel}）。",
        "A test message from fapiao (channel {channel}).",
        "",
    ),
}


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str


class _Facts(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _shown(facts: dict[str, Any]) -> _Facts:
    shown = _Facts()
    for key, value in facts.items():
        if key.endswith("_fen") and isinstance(value, int):
            shown[key.removesuffix("_fen")] = format_fen(value)
        elif isinstance(value, list | tuple):
            shown[key] = "、".join(str(v) for v in value[:10]) + (" …" if len(value) > 10 else "")
        else:
            shown[key] = value
    return shown


def base_url() -> str:
    """Where the web app is reached from a message's link ($FAPIAO_BASE_URL), else a bare path."""
    return os.environ.get("FAPIAO_BASE_URL", "").rstrip("/")


def render(event: str, facts: dict[str, Any]) -> Message:
    declared = {e.name: e for e in EVENTS}.get(event) or Event(event, event, event)
    zh, en, link = TEMPLATES.get(event, ("{facts}", "{facts}", ""))
    shown = _shown({"facts": facts, **facts})
    lines = [zh.format_map(shown), en.format_map(shown)]
    if link:
        lines.append(base_url() + link.format_map(shown))
    if isinstance(facts.get("checkpoint_json"), str):  # whole, on a line of its own, never cut
        lines.append(facts["checkpoint_json"])
    return Message(title=f"[fapiao] {declared.zh} / {declared.en}", body="\n".join(lines))
