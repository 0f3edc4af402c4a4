"""Channels and rules: who is told what, kept in the database so every process sees the same.

A channel's URL is stored as given (apprise needs it whole) and leaves this module masked
(`masked`), except through `channel_url` for the deliverer. Problems are `NotifyError`s carrying a
code and a Chinese and English message; the CLI and the web show them, nothing else is raised on
purpose.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import Engine, and_, delete, insert, or_, select

from fapiao.ledger.store import Ledger, utc_now
from fapiao.notify.events import LEDGER_WIDE, NAMES
from fapiao.notify.tables import notify_channels, notify_rules

NAME_RE = re.compile(r"^[\w.\-]{1,60}$")
# query keys whose values name places or people, not secrets
PLAIN_KEYS = {"to", "from", "cc", "bcc", "mode", "smtp", "format", "method", "name", "user"}


class NotifyError(Exception):
    """A refused change: `code` for scripts, `zh`/`en` for people."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.zh, "message_en": self.en}


def _hide(text: str) -> str:
    return text[:3] + "***" if len(text) > 6 else "***"


def masked(url: str) -> str:
    """The URL with its secrets hidden: passwords, tokens in the host or path, keys in the query.

    A host stays readable only when it looks like a host (a dot, or localhost): in `wecombot://KEY`
    or `dingtalk://TOKEN` the "host" is the secret."""
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    if user:
        name, _, password = user.partition(":")
        user = (name + (":***" if password else "")) + "@"
    hostname = host.split(":")[0]
    if not ("." in hostname or hostname == "localhost"):
        host = _hide(host)
    path = "/".join(_hide(p) if len(p) > 6 else p for p in parts.path.split("/"))
    query = "&".join(
        f"{k}={v if k.lower() in PLAIN_KEYS else _hide(v)}" for k, v in parse_qsl(parts.query)
    )
    return f"{parts.scheme}://{user}{host}{path}" + (f"?{query}" if query else "")


def check_url(url: str) -> None:
    """Refuse a URL apprise cannot use (an unknown scheme, a missing token) before it is stored."""
    from fapiao.notify.sender import accepts

    if not accepts(url):
        raise NotifyError(
            "bad_url",
            f"通道地址无效（apprise 不识别）：{masked(url)}",
            f"apprise cannot use this URL: {masked(url)}",
        )


# --- channels ----------------------------------------------------------------------------------


def add_channel(ledger: Ledger, name: str, url: str, *, owner: str = "") -> None:
    if not NAME_RE.match(name):
        raise NotifyError(
            "bad_name", f"通道名称无效：{name!r}", f"a channel name is 1-60 letters: {name!r}"
        )
    check_url(url)
    with ledger.write() as tx:
        conn = tx.conn
        if conn.scalar(select(notify_channels.c.name).where(notify_channels.c.name == name)):
            raise NotifyError("exists", f"通道 {name} 已存在", f"channel {name} exists")
        conn.execute(
            insert(notify_channels).values(name=name, url=url, owner=owner, created_at=utc_now())
        )
        # the audit chain keeps who routed what where, never the secret itself
        tx.event(
            "notify.channel_added", "notify_channel", name, {"url": masked(url), "owner": owner}
        )


def list_channels(engine: Engine, *, owner: str | None = None) -> list[dict[str, Any]]:
    """Channels with their URL masked; `owner` limits them to one user's and the shared ones."""
    stmt = select(notify_channels).order_by(notify_channels.c.name)
    if owner is not None:
        stmt = stmt.where(notify_channels.c.owner.in_(["", owner]))
    with engine.connect() as conn:
        return [
            {
                "name": r.name,
                "url": masked(r.url),
                "owner": r.owner,
                "created_at": r.created_at,
            }
            for r in conn.execute(stmt)
        ]


def channel_url(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        url = conn.scalar(select(notify_channels.c.url).where(notify_channels.c.name == name))
    if url is None:
        raise NotifyError("no_channel", f"没有通道 {name}", f"no channel {name}")
    return str(url)


def remove_channel(ledger: Ledger, name: str, *, owner: str | None = None) -> None:
    """Removes the channel and the rules that name it (`owner`: only if it is this user's)."""
    where = notify_channels.c.name == name
    if owner is not None:
        where = and_(where, notify_channels.c.owner == owner)
    with ledger.write() as tx:
        conn = tx.conn
        if not conn.scalar(select(notify_channels.c.name).where(where)):
            raise NotifyError("no_channel", f"没有通道 {name}", f"no channel {name}")
        conn.execute(delete(notify_rules).where(notify_rules.c.channel == name))
        conn.execute(delete(notify_channels).where(where))
        tx.event("notify.channel_removed", "notify_channel", name, {})


# --- rules -------------------------------------------------------------------------------------


def add_rule(
    ledger: Ledger,
    *,
    event: str,
    channels: list[str],
    tenant_id: int | None = None,
    owner: str = "",
) -> list[int]:
    """One rule per channel; a rule that already exists is kept, its id returned again."""
    if event not in NAMES:
        raise NotifyError(
            "bad_event",
            f"未知事件 {event}；可选：{', '.join(sorted(NAMES))}",
            f"unknown event {event}; known: {', '.join(sorted(NAMES))}",
        )
    if not channels:
        raise NotifyError("no_channel", "至少指定一个通道", "name at least one channel")
    ids = []
    with ledger.write() as tx:
        conn = tx.conn
        for channel in channels:
            if not conn.scalar(
                select(notify_channels.c.name).where(notify_channels.c.name == channel)
            ):
                raise NotifyError("no_channel", f"没有通道 {channel}", f"no channel {channel}")
            same = and_(
                notify_rules.c.event == event,
                notify_rules.c.channel == channel,
                notify_rules.c.owner == owner,
                notify_rules.c.tenant_id.is_(None)
                if tenant_id is None
                else notify_rules.c.tenant_id == tenant_id,
            )
            found = conn.scalar(select(notify_rules.c.id).where(same))
            if found is None:
                found = conn.execute(
                    insert(notify_rules).values(
                        event=event,
                        channel=channel,
                        tenant_id=tenant_id,
                        owner=owner,
                        created_at=utc_now(),
                    )
                ).inserted_primary_key[0]
            ids.append(int(found))
        payload = {"event": event, "channels": channels, "owner": owner, "ids": ids}
        tx.event("notify.rule_added", "notify_rule", ids[0], payload, tenant_id=tenant_id)
    return ids


def list_rules(engine: Engine, *, owner: str | None = None) -> list[dict[str, Any]]:
    stmt = select(notify_rules).order_by(notify_rules.c.event, notify_rules.c.id)
    if owner is not None:
        stmt = stmt.where(notify_rules.c.owner == owner)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def remove_rule(ledger: Ledger, rule_id: int, *, owner: str | None = None) -> None:
    where = notify_rules.c.id == rule_id
    if owner is not None:
        where = and_(where, notify_rules.c.owner == owner)
    with ledger.write() as tx:
        if tx.conn.execute(delete(notify_rules).where(where)).rowcount == 0:
            raise NotifyError("no_rule", f"没有规则 {rule_id}", f"no rule {rule_id}")
        tx.event("notify.rule_removed", "notify_rule", rule_id, {})


def channels_for(conn: Any, event: str, tenant_id: int | None) -> list[str]:
    """The channels an event goes to: rules for its tenant and rules for every tenant."""
    scope = notify_rules.c.tenant_id.is_(None)
    if tenant_id is not None:
        scope = or_(scope, notify_rules.c.tenant_id == tenant_id)
    stmt = select(notify_rules.c.channel).where(notify_rules.c.event == event, scope).distinct()
    return sorted(conn.scalars(stmt))


# --- a user's own subscriptions (the web page) ---------------------------------------------------


def email_url(address: str) -> str:
    """A `mailto://` channel for one address, through the mail server the administrator set in
    `$FAPIAO_NOTIFY_MAILTO` (an apprise mailto URL without `to`)."""
    import os

    base = os.environ.get("FAPIAO_NOTIFY_MAILTO", "").strip()
    if not base:
        raise NotifyError(
            "no_mail_server",
            "管理员尚未设置邮件服务器（FAPIAO_NOTIFY_MAILTO）",
            "no mail server is set up (FAPIAO_NOTIFY_MAILTO)",
        )
    if not re.match(r"^[^@\s&?=/]+@[^@\s&?=/]+\.[^@\s&?=/]+$", address):
        raise NotifyError(
            "bad_email", f"邮箱地址无效：{address}", f"not an e-mail address: {address}"
        )
    return f"{base}{'&' if '?' in base else '?'}to={address}"


def subscriptions(engine: Engine, owner: str) -> set[tuple[str, str]]:
    """(event, channel) pairs the user has subscribed to."""
    return {(r["event"], r["channel"]) for r in list_rules(engine, owner=owner)}


def set_subscriptions(
    ledger: Ledger,
    owner: str,
    pairs: set[tuple[str, str]],
    *,
    tenant_ids: frozenset[int] | None,
) -> None:
    """Replace the user's subscriptions. A user who sees some tenants only is subscribed per
    tenant, so an event of another tenant (or of the whole ledger) never reaches them."""
    allowed = {c["name"] for c in list_channels(ledger.engine, owner=owner)}
    events = NAMES if tenant_ids is None else NAMES - LEDGER_WIDE
    unknown = {c for _, c in pairs if c not in allowed} | {e for e, _ in pairs if e not in events}
    if unknown:
        raise NotifyError("refused", f"不能订阅：{sorted(unknown)}", f"refused: {sorted(unknown)}")
    scopes: list[int | None] = [None] if tenant_ids is None else sorted(tenant_ids)
    with ledger.write() as tx:
        conn = tx.conn
        conn.execute(delete(notify_rules).where(notify_rules.c.owner == owner))
        rows = [
            {"event": e, "channel": c, "tenant_id": t, "owner": owner, "created_at": utc_now()}
            for e, c in sorted(pairs)
            for t in scopes
        ]
        if rows:
            conn.execute(insert(notify_rules), rows)
        tx.event("notify.subscriptions_set", "notify_owner", owner, {"pairs": sorted(pairs)})
