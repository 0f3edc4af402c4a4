"""The pages, over a real server, on SQLite and PostgreSQL: login, dashboard, search, detail with
the original file, upload, export, print, language switch, and the audit chain they leave."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook

from fapiao.codec import invoice_to_json
from fapiao.ledger import audit
from tests.test_web_support import Site, site, sqlite_site

__all__ = ["site", "sqlite_site"]


def test_login_dashboard_logout_and_language(site: Site) -> None:
    b = site.browser()
    assert b.get("/").headers["location"].startswith("/login")
    page = b.get("/login")
    assert "登录" in page.text and 'lang="zh-CN"' in page.text
    r = b.login("accountant_a")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("fapiao_session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    home = b.get("/")
    assert home.status_code == 200 and "概览" in home.text and "accountant_a" in home.text
    b.get("/lang/en?next=/")
    assert "Dashboard" in b.get("/").text
    assert b.post("/logout", data={"csrf": b.csrf()}).status_code == 303
    assert b.get("/").status_code == 303  # the session is gone on the server too


def test_search_sort_page_and_detail_with_original(site: Site) -> None:
    b = site.browser()
    b.login("viewer_a")
    inv = site.factory_a.others[0]
    listing = b.get("/invoices", params={"q": inv.name[2:7]}).text
    # every hit names the searched party; B's invoices never show up
    assert site.factory_b.home.name not in listing
    item_row = b.get("/api/v1/invoices", params={"limit": 1}).json()["items"][0]
    detail = b.get(f"/invoices/{item_row['id']}").text
    assert item_row["number"] in detail and "原始文件" in detail
    assert (
        'id="original-text"' in detail and "&#34;number&#34;" in detail
    )  # the JSON original, as text
    original = b.get(f"/invoices/{item_row['id']}/original")
    assert original.status_code == 200
    assert original.headers["content-type"].startswith("text/plain")
    assert json.loads(original.content)["number"] == item_row["number"]
    assert "sandbox" in original.headers["content-security-policy"]
    first = b.get("/api/v1/invoices", params={"limit": 2, "sort": "total", "order": "asc"}).json()
    totals = [float(r["total"]) for r in first["items"]]
    assert totals == sorted(totals) and first["next_offset"] == 2


def test_full_text_search_finds_parties_items_and_numbers(site: Site) -> None:
    b = site.browser()
    b.login("admin_a")
    rows = b.get("/api/v1/invoices", params={"limit": 200}).json()["items"]
    target = rows[0]
    by_number = b.get("/api/v1/invoices", params={"q": target["number"][-9:]}).json()["items"]
    assert [r["id"] for r in by_number] == [target["id"]]
    detail = b.get(f"/api/v1/invoices/{target['id']}").json()
    item = detail["items"][0]["name"].strip("*").split("*")[-1]
    by_item = b.get("/api/v1/invoices", params={"q": item, "limit": 200}).json()["items"]
    assert target["id"] in {r["id"] for r in by_item}
    seller = target["seller"]["name"]
    by_party = b.get("/api/v1/invoices", params={"q": seller[-6:], "limit": 200}).json()["items"]
    assert by_party and all(
        seller[-6:] in (r["seller"]["name"] + r["buyer"]["name"]) for r in by_party
    )
    two_chars = b.get("/api/v1/invoices", params={"q": seller[-2:], "limit": 200}).json()["items"]
    assert target["id"] in {r["id"] for r in two_chars}
    none = b.get("/api/v1/invoices", params={"q": "不存在的公司名称"}).json()
    assert none["items"] == [] and none["next_offset"] is None


def test_upload_imports_through_ingest_and_reports_each_file(site: Site) -> None:
    b = site.browser()
    b.login("accountant_a")
    token = b.csrf("/upload")
    good = site.factory_a.invoice()
    body = json.dumps(invoice_to_json(good), ensure_ascii=False).encode()
    r = b.post("/upload/file", files={"file": ("new.json", body)}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    result = r.json()
    assert [o["number"] for o in result["imported"]] == [good.number]
    again = b.post(
        "/upload/file", files={"file": ("new.json", body)}, headers={"X-CSRF-Token": token}
    )
    assert len(again.json()["duplicates"]) == 1
    bad = b.post(
        "/upload/file",
        files={"file": ("notes.txt", b"meeting notes")},
        headers={"X-CSRF-Token": token},
    ).json()
    assert bad["rejected"][0]["file"] == "notes.txt" and bad["rejected"][0]["findings"]
    assert audit.verify(site.ledger.engine).ok


def test_export_csv_and_xlsx_hold_only_granted_rows(site: Site) -> None:
    b = site.browser()
    b.login("auditor_a")
    text = b.get("/invoices/export.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["台账编号"] for r in rows} == set(site.a_ids)  # a person's export: Chinese headers
    book = load_workbook(io.BytesIO(b.get("/invoices/export.xlsx").content), read_only=True)
    sheet = book.worksheets[0]
    ids = {str(row[0]) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert ids == set(site.a_ids)


def test_print_views_and_help(site: Site) -> None:
    b = site.browser()
    b.login("viewer_a")
    one = b.get(f"/invoices/{site.a_ids[0]}/print")
    assert one.status_code == 200 and "价税合计" in one.text and "data-print" in one.text
    many = b.get("/invoices/print")
    assert many.text.count("<tr>") == len(site.a_ids) + 1
    assert "常见问题" in b.get("/help").text


def test_admin_manages_users_and_every_change_is_an_event(site: Site) -> None:
    b = site.browser()
    b.login("admin_a")
    token = b.csrf("/users")
    r = b.post(
        "/users",
        data={
            "csrf": token,
            "name": "newbie",
            "password": "long enough 1",
            "role": "viewer",
            "tenants": [str(site.tenant_b)],
        },
    )
    assert r.status_code == 303
    assert "newbie" in b.get("/users").text
    b.post("/users/newbie/grants", data={"csrf": token, "tenants": [str(site.tenant_a)]})
    events = b.get("/audit").text
    for action in ("user.added", "user.granted", "user.revoked", "user.login"):
        assert action in events
    nb = site.browser()
    nb.login("newbie", "long enough 1")
    ids = {r["id"] for r in nb.get("/api/v1/invoices", params={"limit": 200}).json()["items"]}
    assert ids == set(site.a_ids)
    assert audit.verify(site.ledger.engine).ok
