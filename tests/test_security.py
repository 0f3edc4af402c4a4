"""Security of the web app: every route refuses a caller without a session (routes listed from the
app itself), tenant A cannot read or change tenant B, forms without CSRF are refused, ten wrong
passwords lock the account, roles limit what each user may do, headers are set."""

from __future__ import annotations

import json
import re

from fastapi.routing import APIRoute
from sqlalchemy import select

from fapiao.auth import users as auth
from fapiao.codec import invoice_to_json
from fapiao.ledger import schema
from fapiao.web.app import PUBLIC_PATHS
from tests.test_web_support import PASSWORD, Site, site, sqlite_site

__all__ = ["site", "sqlite_site"]


def _concrete(path: str, some_id: str) -> str:
    return re.sub(r"\{[^}]+\}", some_id, path)


def test_every_route_refuses_a_caller_without_a_session(sqlite_site: Site) -> None:
    b = sqlite_site.browser()
    routes = [r for r in sqlite_site.app.routes if isinstance(r, APIRoute)]
    assert len(routes) > 20
    checked = 0
    for route in routes:
        if route.path.startswith(PUBLIC_PATHS):
            continue
        path = _concrete(route.path, sqlite_site.a_ids[0])
        for method in route.methods:
            r = b.request(method, path)
            if path.startswith("/api/"):
                assert r.status_code == 401, (method, path, r.status_code)
                assert r.json()["error"]["code"] == "unauthenticated"
            elif method == "GET":
                assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
            else:
                assert r.status_code in (401, 403), (method, path, r.status_code)
            checked += 1
        # a made-up token is no better than none
        if path.startswith("/api/"):
            r = b.request(
                next(iter(route.methods)), path, headers={"Authorization": "Bearer fpt_forged"}
            )
            assert r.status_code == 401
    guarded = [r for r in routes if not r.path.startswith(PUBLIC_PATHS)]
    assert checked == sum(len(r.methods) for r in guarded) and len(guarded) > 20


def test_tenant_a_cannot_read_or_change_tenant_b(site: Site) -> None:
    a = site.browser()
    a.login("accountant_a")
    for inv_id in site.b_ids[:3]:
        for path in (
            f"/invoices/{inv_id}",
            f"/invoices/{inv_id}/original",
            f"/invoices/{inv_id}/print",
        ):
            assert a.get(path).status_code == 404, path
        for path in (f"/api/v1/invoices/{inv_id}", f"/api/v1/invoices/{inv_id}/original"):
            assert a.get(path).status_code == 404, path
    listed = {r["id"] for r in a.get("/api/v1/invoices", params={"limit": 200}).json()["items"]}
    assert listed == set(site.a_ids)
    b_name = site.factory_b.home.name
    assert a.get("/api/v1/invoices", params={"q": b_name}).json()["items"] == []
    assert a.get("/api/v1/invoices", params={"tenant": site.tenant_b}).json()["items"] == []
    assert b_name not in a.get("/invoices", params={"tenant": site.tenant_b}).text
    assert site.factory_b.home.tax_id not in a.get("/invoices/export.csv").text
    assert [t["id"] for t in a.get("/api/v1/tenants").json()] == [site.tenant_a]
    # uploading B's invoice as A's accountant creates nothing in B
    token = a.csrf("/upload")
    doc = json.dumps(invoice_to_json(site.factory_b.invoice()), ensure_ascii=False).encode()
    r = a.post("/upload/file", files={"file": ("b.json", doc)}, headers={"X-CSRF-Token": token})
    assert (
        r.json()["imported"] == [] and r.json()["rejected"][0]["findings"][0]["code"] == "no_tenant"
    )
    with site.ledger.engine.connect() as conn:
        in_b = conn.scalars(
            select(schema.invoices.c.id).where(schema.invoices.c.tenant_id == site.tenant_b)
        ).all()
    assert {str(i) for i in in_b} == set(site.b_ids)
    # nor can A grant itself B
    r = a.request(
        "PUT",
        "/api/v1/users/accountant_a/grants",
        json={"tenants": [str(site.tenant_b)]},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 403
    r = a.post("/users/accountant_a/grants", data={"csrf": token, "tenants": [str(site.tenant_b)]})
    assert r.status_code == 403
    mine = next(u for u in auth.list_users(site.ledger) if u["name"] == "accountant_a")
    assert mine["tenants"] == [site.tenant_a]
    # the audit page lists only A's events
    events = a.get("/audit").text
    assert f'href="/invoices/{site.b_ids[0]}"' not in events
    assert f'href="/invoices/{site.a_ids[0]}"' in events


def test_forms_without_csrf_are_refused(sqlite_site: Site) -> None:
    s = sqlite_site
    admin = s.browser()
    admin.login("admin_a")
    r = admin.post("/users", data={"name": "sneaky", "password": "long enough 1", "role": "admin"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = admin.post(
        "/users",
        data={"name": "sneaky", "password": "long enough 1", "role": "admin", "csrf": "wrong"},
    )
    assert r.status_code == 403
    assert "sneaky" not in {u["name"] for u in auth.list_users(s.ledger)}
    assert admin.post("/logout").status_code == 403
    assert admin.post("/upload/file", files={"file": ("x.json", b"{}")}).status_code == 403
    r = admin.request(
        "POST",
        "/api/v1/users",
        json={"name": "sneaky", "password": "long enough 1", "role": "admin"},
    )
    assert r.status_code == 403  # a browser session calling the API needs the header too
    assert admin.get("/").status_code == 200  # still logged in
    fresh = s.browser()
    r = fresh.post(
        "/login", data={"name": "admin_a", "password": PASSWORD, "csrf": "x", "next": "/"}
    )
    assert r.status_code == 403 and "fapiao_session" not in fresh.cookies


def test_ten_wrong_passwords_lock_the_account(sqlite_site: Site) -> None:
    s = sqlite_site
    b = s.browser()
    for _ in range(9):
        assert b.login("viewer_a", "wrong password").status_code == 401
    r = b.login("viewer_a", "wrong password")
    assert r.status_code == 401
    r = b.login("viewer_a")  # the right password no longer helps
    # and the answer is that of any failed login: a lock does not reveal that the name exists
    unknown = s.browser().login("no_such_user", "wrong password")
    assert r.status_code == unknown.status_code == 401
    assert auth.BAD_LOGIN[0] in r.text and auth.BAD_LOGIN[0] in unknown.text
    assert "fapiao_session" not in b.cookies
    other = s.browser()
    assert other.login("viewer_b").status_code == 303  # only that account is locked
    with s.ledger.engine.connect() as conn:
        actions = conn.scalars(select(schema.events.c.action).order_by(schema.events.c.seq)).all()
    assert actions.count("user.login_failed") == 12 and "user.locked" in actions
    auth.unlock(s.ledger, "viewer_a")
    assert s.browser().login("viewer_a").status_code == 303


def test_roles_limit_what_a_user_may_do(sqlite_site: Site) -> None:
    s = sqlite_site
    viewer = s.browser()
    viewer.login("viewer_a")
    token = viewer.csrf()
    assert viewer.get("/upload").status_code == 403
    r = viewer.post(
        "/upload/file", files={"file": ("x.json", b"{}")}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 403
    assert viewer.get("/invoices/export.csv").status_code == 403
    assert viewer.get("/audit").status_code == 403
    auditor = s.browser()
    auditor.login("auditor_a")
    assert auditor.get("/audit").status_code == 200
    assert auditor.get("/users").status_code == 403
    assert auditor.get("/upload").status_code == 403
    assert "/users" not in auditor.get("/").text.split("<main>")[0]


def test_security_headers_and_cookie_flags(sqlite_site: Site) -> None:
    b = sqlite_site.browser()
    r = b.get("/login")
    h = r.headers
    assert (
        "script-src 'self'" in h["content-security-policy"]
        and "unsafe-inline" not in h["content-security-policy"]
    )
    assert h["x-frame-options"] == "SAMEORIGIN" and h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer" and h["cache-control"] == "no-store"
    assert "<script>" not in r.text and "onclick" not in r.text
    r = b.login("viewer_a")
    assert b.get("/lang/en", params={"next": "https://evil.example/"}).headers["location"] == "/"
    r = b.post("/login", data={"name": "x", "password": "y", "csrf": "z", "next": "//evil.example"})
    assert r.status_code == 403
