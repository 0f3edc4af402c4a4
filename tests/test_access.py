"""Access control from the outside (HTTP against a real server, the CLI as a subprocess): tokens
revoked, expired and listed; users disabled and enabled; roles changed; every change in a chain
that still verifies; support, audit and incidents kept to the caller's tenants; an admin's tenant
grant honoured."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

from fapiao.auth import schema as auth_tables
from fapiao.auth import users as auth
from fapiao.ledger import schema
from fapiao.ops import tickets
from tests.conftest import run_cli
from tests.test_web_support import PASSWORD, Site, site, sqlite_site

__all__ = ["site", "sqlite_site"]


def _db(s: Site) -> str:
    return s.ledger.engine.url.render_as_string(hide_password=False)


def cli(s: Site, *args: str, check: bool = True) -> Any:
    """The command line, acting as the ledger-wide admin (the ledger has users)."""
    return run_cli("--db", _db(s), *args, check=check, env={"FAPIAO_USER": "admin_a"})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(s: Site, name: str, *extra: str) -> str:
    return cli(s, "user", "token", name, *extra).stdout.strip()


def _actions(s: Site) -> list[str]:
    with s.ledger.engine.connect() as conn:
        return list(conn.scalars(select(schema.events.c.action).order_by(schema.events.c.seq)))


def test_a_revoked_token_is_refused_at_once_and_listed_with_its_use(sqlite_site: Site) -> None:
    s = sqlite_site
    b = s.browser()
    token = _token(s, "accountant_a", "--label", "nightly export")
    assert b.get("/api/v1/me", headers=_bearer(token)).status_code == 200  # now cached
    listed = json.loads(cli(s, "user", "token", "list", "accountant_a", "--json").stdout)
    (row,) = listed
    assert row["label"] == "nightly export" and row["revoked_at"] == ""
    assert row["last_used_at"] and row["expires_at"] > row["created_at"]
    # default expiry: 90 days after creation
    assert row["expires_at"][:10] > row["created_at"][:10]
    cli(s, "user", "token", "revoke", "accountant_a", str(row["id"]))
    # the server cached the token a moment ago; the revocation (another process) still counts now
    r = b.get("/api/v1/me", headers=_bearer(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    again = json.loads(cli(s, "user", "token", "list", "accountant_a", "--json").stdout)
    assert again[0]["revoked_at"]
    assert "token.revoked" in _actions(s)
    assert cli(s, "audit", "verify").returncode == 0


def test_an_expired_token_is_refused(sqlite_site: Site) -> None:
    s = sqlite_site
    b = s.browser()
    token = _token(s, "viewer_a", "--days", "1")
    assert b.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    # a day later: the stored expiry is in the past
    with s.ledger.engine.begin() as conn:
        conn.execute(update(auth_tables.api_tokens).values(expires_at="2000-01-01T00:00:00+00:00"))
    auth.drop_caches()
    assert b.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    # nonsense lifetimes are refused
    assert cli(s, "user", "token", "viewer_a", "--days", "0", check=False).returncode == 2


def test_a_disabled_user_loses_session_and_token_at_once(site: Site) -> None:
    s = site
    b = s.browser()
    assert b.login("accountant_a").status_code == 303
    token = _token(s, "accountant_a")
    assert b.get("/").status_code == 200
    assert b.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    cli(s, "user", "disable", "accountant_a")
    assert b.get("/").status_code == 303  # back to the login page
    assert b.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    fresh = s.browser()
    assert fresh.login("accountant_a").status_code == 401
    users = json.loads(cli(s, "user", "list", "--json").stdout)
    assert next(u for u in users if u["name"] == "accountant_a")["disabled"] is True
    table = cli(s, "user", "list").stdout  # a person's table: the role's word beside its code
    assert "会计 accountant" in table and "是 yes" in table
    cli(s, "user", "enable", "accountant_a")
    assert b.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    assert fresh.login("accountant_a").status_code == 303
    actions = _actions(s)
    assert "user.disabled" in actions and "user.enabled" in actions
    assert cli(s, "audit", "verify").returncode == 0


def test_a_role_change_takes_effect_from_cli_web_and_api(sqlite_site: Site) -> None:
    s = sqlite_site
    viewer = s.browser()
    viewer.login("viewer_a")
    assert viewer.get("/invoices/export.csv").status_code == 403
    cli(s, "user", "role", "viewer_a", "accountant")
    assert viewer.get("/invoices/export.csv").status_code == 200
    assert cli(s, "user", "role", "viewer_a", "emperor", check=False).returncode == 2

    admin = s.browser()
    admin.login("admin_a")
    token = admin.csrf("/users")
    r = admin.post("/users/viewer_a/role", data={"csrf": token, "role": "viewer"})
    assert r.status_code == 303
    assert viewer.get("/invoices/export.csv").status_code == 403

    r = admin.request(
        "PUT",
        "/api/v1/users/viewer_a/role",
        json={"role": "auditor"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and r.json()["role"] == "auditor"
    assert viewer.get("/audit").status_code == 200
    # the web page and the API disable, enable and revoke too
    api_token = _token(s, "viewer_a")
    tokens = admin.get("/api/v1/users/viewer_a/tokens").json()
    assert len(tokens) == 1 and "token_hash" not in tokens[0]
    r = admin.request(
        "DELETE",
        f"/api/v1/users/viewer_a/tokens/{tokens[0]['id']}",
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert viewer.get("/api/v1/me", headers=_bearer(api_token)).status_code == 401
    r = admin.post("/users/viewer_a/disable", data={"csrf": token})
    assert r.status_code == 303 and viewer.get("/").status_code == 303
    r = admin.request("POST", "/api/v1/users/viewer_a/enable", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["disabled"] is False
    page = admin.get("/users").text
    assert "/users/viewer_a/disable" in page and "/users/viewer_a/role" in page
    # a user without the admin role changes nothing
    other = s.browser()
    other.login("accountant_b")
    t2 = other.csrf()
    r = other.request(
        "PUT",
        "/api/v1/users/accountant_b/role",
        json={"role": "admin"},
        headers={"X-CSRF-Token": t2},
    )
    assert r.status_code == 403
    actions = _actions(s)
    assert actions.count("user.role_changed") == 3 and "token.revoked" in actions
    assert cli(s, "audit", "verify").returncode == 0


def test_an_admin_granted_one_tenant_sees_only_that_tenant(site: Site) -> None:
    s = site
    proc = run_cli(
        "--db", _db(s), "user", "add", "boss_a", "--role", "admin", "--tenant", str(s.tenant_a),
        env={"FAPIAO_PASSWORD": PASSWORD, "FAPIAO_USER": "admin_a"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    b = s.browser()
    b.login("boss_a")
    assert b.get("/api/v1/me").json()["tenants"] == [s.tenant_a]
    listed = {r["id"] for r in b.get("/api/v1/invoices", params={"limit": 200}).json()["items"]}
    assert listed == set(s.a_ids)
    assert b.get(f"/api/v1/invoices/{s.b_ids[0]}").status_code == 404
    assert b.get(f"/invoices/{s.b_ids[0]}").status_code == 404
    assert [t["id"] for t in b.get("/api/v1/tenants").json()] == [s.tenant_a]
    # user administration is ledger-wide: a tenant's admin may not make a ledger-wide user
    token = b.csrf()
    r = b.request(
        "POST",
        "/api/v1/users",
        json={"name": "sneaky", "password": "long enough 1", "role": "admin"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 403
    assert b.get("/users").status_code == 403
    assert 'href="/users"' not in b.get("/").text  # nor is it offered


def test_support_sees_only_the_tickets_of_its_tenants(sqlite_site: Site) -> None:
    s = sqlite_site
    for tag, tid in (("a", s.tenant_a), ("b", s.tenant_b)):
        auth.add_user(
            s.ledger, name=f"support_{tag}", password=PASSWORD, role="support", tenants=[str(tid)]
        )
    reporter = s.browser()
    reporter.login("viewer_b")
    token = reporter.csrf("/tickets/new")
    r = reporter.post(
        "/tickets", data={"csrf": token, "symptoms": "打印机卡纸", "category": "print"}
    )
    assert r.status_code == 303
    tid = int(r.headers["location"].rsplit("/", 1)[1])
    assert tickets.get(s.ledger.engine, tid)["tenant_id"] == s.tenant_b  # type: ignore[index]

    desk_a = s.browser()
    desk_a.login("support_a")
    ta = desk_a.csrf("/tickets")
    assert f"/tickets/{tid}" not in desk_a.get("/tickets", params={"state": ""}).text
    assert desk_a.get(f"/tickets/{tid}").status_code == 404
    assert desk_a.post(f"/tickets/{tid}/close", data={"csrf": ta}).status_code == 404
    assert desk_a.post(f"/tickets/{tid}/answer", data={"csrf": ta, "text": "x"}).status_code == 404
    assert tickets.get(s.ledger.engine, tid)["state"] == "open"  # type: ignore[index]

    desk_b = s.browser()
    desk_b.login("support_b")
    assert f"/tickets/{tid}" in desk_b.get("/tickets").text
    tb = desk_b.csrf(f"/tickets/{tid}")
    # nor is it handed to someone who cannot see it
    r = desk_b.post(f"/tickets/{tid}/assign", data={"csrf": tb, "assignee": "support_a"})
    assert "error=" in r.headers["location"]
    assert "support_a" not in desk_b.get(f"/tickets/{tid}").text
    r = desk_b.post(f"/tickets/{tid}/assign", data={"csrf": tb, "assignee": "support_b"})
    assert tickets.get(s.ledger.engine, tid)["assignee"] == "support_b"  # type: ignore[index]
    assert desk_b.post(f"/tickets/{tid}/close", data={"csrf": tb}).status_code == 303
    assert tickets.get(s.ledger.engine, tid)["state"] == "closed"  # type: ignore[index]

    # a reporter files only for a tenant of theirs
    before = len(tickets.list_tickets(s.ledger.engine))
    r = reporter.post(
        "/tickets", data={"csrf": token, "symptoms": "冒名", "tenant": str(s.tenant_a)}
    )
    assert r.status_code == 303 and "/tickets/new?error=" in r.headers["location"]
    assert len(tickets.list_tickets(s.ledger.engine)) == before

    # a ledger-wide ticket (filed by a ledger-wide user) goes to ledger-wide admins only
    wide = tickets.file_ticket(s.ledger, reporter="admin_a", symptoms="整个系统很慢")
    assert desk_a.get(f"/tickets/{wide}").status_code == 404
    admin = s.browser()
    admin.login("admin_a")
    assert admin.get(f"/tickets/{wide}").status_code == 200


def test_tenant_scoped_users_get_no_ledger_wide_data_or_changes(sqlite_site: Site) -> None:
    s = sqlite_site
    # B's invoice row changed behind the program's back: the chain check names it
    with s.ledger.engine.begin() as conn:
        conn.execute(
            update(schema.invoices)
            .where(schema.invoices.c.id == int(s.b_ids[0]))
            .values(total=schema.invoices.c.total + 100)
        )
    admin = s.browser()
    admin.login("admin_a")
    report = admin.get("/api/v1/audit/verify").json()
    assert report["ok"] is False and s.b_ids[0] in json.dumps(report)
    auditor = s.browser()
    auditor.login("auditor_a")
    r = auditor.get("/api/v1/audit/verify")
    assert s.b_ids[0] not in r.text and r.status_code == 403
    assert r.json()["error"]["code"] == "ledger_wide"

    # a ledger-wide incident: a tenant's accountant may read it, not note or close it
    opened = cli(s, "incident", "open", "--title", "税务平台全国故障", "--json")
    iid = json.loads(opened.stdout)["id"]
    acc = s.browser()
    acc.login("accountant_a")
    token = acc.csrf("/contingency")
    path = f"/contingency/incidents/{iid}"
    assert acc.get(path).status_code == 200
    assert acc.post(f"{path}/note", data={"csrf": token, "text": "我来关"}).status_code == 403
    assert acc.post(f"{path}/close", data={"csrf": token}).status_code == 403
    page = admin.get(path).text
    assert "我来关" not in page
    with s.ledger.engine.connect() as conn:
        closed = conn.scalars(
            select(schema.events.c.action).where(schema.events.c.action == "incident.closed")
        ).all()
    assert closed == []
