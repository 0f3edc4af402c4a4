"""The self-check's view of notifications: messages given up on (parked) or waiting too long mean
someone was not told; a warning, never a failure (a failed check is itself told, through them)."""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from fapiao.notify.tables import notify_messages as msg
from fapiao.ops.checks import OK, SKIP, WARN, Check, Probe

LATE_S = 3600.0


def check_notify(probe: Probe) -> Check:
    if not probe.db_ok or probe.engine is None or not inspect(probe.engine).has_table(msg.name):
        return Check("notify", SKIP, "not_checked", "未检查通知", "notifications not checked")
    with probe.engine.connect() as conn:
        parked = conn.scalar(select(func.count()).where(msg.c.state == "parked")) or 0
        late = (
            conn.scalar(
                select(func.count()).where(
                    msg.c.state == "pending", msg.c.attempts > 0, msg.c.next_at > 0
                )
            )
            or 0
        )
        oldest = conn.scalar(select(func.min(msg.c.created_at)).where(msg.c.state == "pending"))
    data = {"parked": int(parked), "retrying": int(late), "oldest_pending": oldest or ""}
    if parked:
        return Check(
            "notify",
            WARN,
            "notify_parked",
            f"{parked} 条通知未能送达，已放弃（fapiao notify log）",
            f"{parked} notifications could not be delivered and were given up (fapiao notify log)",
            data,
        )
    if late:
        return Check(
            "notify",
            WARN,
            "notify_retrying",
            f"{late} 条通知发送失败，正在重试",
            f"{late} notifications failed and are being retried",
            data,
        )
    return Check("notify", OK, "ok", "通知正常", "notifications are delivered", data)


CHECKS = {"notify": check_notify}
