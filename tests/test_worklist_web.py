"""The daily loop's pages and API from the outside (a real server on loopback, a browser-like client,
Bearer tokens): the work list of reconcile actions with its amount at risk, confirmed remedies and
the bulk re-upload, the confirmation a sweeping reconcile asks for, the outbox and the backups, and
the API answering what the CLI answers, within the token's companies."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest

from fapiao.auth import users as auth
from fapiao.authority.export_file import write_export
from fapiao.authority.records import record_from_invoice
from fapiao.ingest import import_paths
from fapiao.model import Invoice
from fapiao.money import format_fen
from tests.conftest import run_cli, write_invoice
from tests.export_support import xls_of
from tests.test_reconcile_refusal import OTHER, counts
from tests.test_web_support import Browser, Site, sqlite_site

__all__ = ["sqlite_site"]  # fixture
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def fresh(s: Site, n: int) -> list[Invoice]:
    """n more invoices of tenant A in the ledger (they go to the outbox as imports do)."""
    invoices = [s.factory_a.invoice() for _ in range(n)]
    for k, inv in enumerate(invoices):
        write_invoice(s.tmp / "more" / f"{k:03d}-{inv.number}.json", inv)
    assert len(import_paths(s.ledger, [s.tmp / "more"]).imported) == n
    return invoices


def export_of(invoices: list[Invoice]) -> bytes:
    return write_export([record_from_invoice(i) for i in invoices])


def upload(b: Browser, s: Site, body: bytes, path: str = "/reconcile") -> httpx.Response:
    return b.post(
        path,
        data={"tenant": str(s.tenant_a), "csrf": b.csrf("/reconcile")},
        files={"export": ("export.xlsx", body, XLSX)},
    )


def ledger_invoices(s: Site, tenant: int) -> list[Invoice]:
    from sqlalchemy import select

    from fapiao.codec import invoice_from_json
    from fapiao.ledger import schema

    t = schema.invoices
    with s.ledger.engine.connect() as conn:
        docs = conn.scalars(select(t.c.doc).where(t.c.tenant_id == tenant)).all()
    found = [invoice_from_json(json.loads(d))[0] for d in docs]
    assert all(found)
    return found  # type: ignore[return-value]


def db_url(s: Site) -> str:
    return s.ledger.engine.url.render_as_string(hide_password=False)


def listed(s: Site) -> list[dict]:
    """The active actions as `actions list --json` has them, read in this process (fast)."""
    from fapiao.reconcile.worklist import actions

    return actions(s.ledger.engine, None)


def cli_actions(s: Site, *args: str) -> list[dict]:
    proc = run_cli("--db", db_url(s), "actions", "list", "--json", *args, check=True)
    return json.loads(proc.stdout)


@pytest.fixture
def reconciled(sqlite_site: Site) -> tuple[Site, Browser, list[Invoice], Invoice]:
    """Tenant A reconciled against an export that lacks 3 of its invoices and has one we lack."""
    s = sqlite_site
    known = fresh(s, 5)
    stranger = s.factory_a.invoice()  # at the platform only
    b = s.browser()
    b.login(s.user("accountant", "a"))
    page = upload(b, s, export_of([*known[3:], stranger]))
    assert page.status_code == 200, page.text[:500]
    assert 'id="count-missing_in_ledger">1<' in page.text
    return s, b, known, stranger


def test_the_work_list_groups_actions_with_the_amount_at_risk(reconciled) -> None:
    s, b, known, stranger = reconciled
    lacking = [a for a in listed(s) if a["category"] == "missing_at_authority"]
    # the site's own 6 invoices and 3 of the 5 are not in the export
    assert len(lacking) == 9
    page = b.get("/actions")
    assert page.status_code == 200
    assert "平台缺失" in page.text and "我方缺失" in page.text
    for inv in known[:3]:
        assert inv.number in page.text
    at_risk = sum(int(a["detail"]["total"].replace(".", "")) for a in listed(s))
    shown = page.text.split('id="actions-at-risk">¥', 1)[1].split("<", 1)[0]
    assert shown.replace(",", "") == format_fen(at_risk)
    only = b.get("/actions", params={"category": "missing_in_ledger"}).text
    assert stranger.number in only and known[0].number not in only
    english = b.get("/lang/en", params={"next": "/actions"})
    assert english.status_code == 303
    assert "missing at the platform" in b.get("/actions").text
    b.get("/lang/zh")
    home = b.get("/").text
    card = home.split('id="panel-lacking"', 1)[1].split("</section>", 1)[0]
    assert 'href="/actions"' in card and ">9<" in card and ">1<" in card
    assert home.index('id="panel-lacking"') < home.index("本月发票")  # the first card


def test_a_remedy_runs_after_its_confirmation_page(reconciled) -> None:
    s, b, _known, _ = reconciled
    action = next(a for a in listed(s) if a["remedy"] == "reupload")
    confirm = b.get(f"/actions/{action['id']}")
    assert 'action="/actions/' in confirm.text and "确认执行" in confirm.text
    assert {a["state"] for a in listed(s)} == {"open"}  # looking changes nothing
    refused = b.post(f"/actions/{action['id']}/do", data={})
    assert refused.status_code == 403  # no CSRF token
    done = b.post(f"/actions/{action['id']}/do", data={"csrf": b.csrf(f"/actions/{action['id']}")})
    assert done.status_code == 200 and "放回发件箱" in done.text
    (after,) = [a for a in listed(s) if a["id"] == action["id"]]
    assert after["state"] == "in_progress"
    viewer = s.browser()
    viewer.login(s.user("viewer", "a"))
    assert "action-do" not in viewer.get(f"/actions/{action['id']}").text
    token = viewer.csrf(f"/actions/{action['id']}")
    assert viewer.post(f"/actions/{action['id']}/do", data={"csrf": token}).status_code == 403


def test_bulk_re_upload_asks_first_then_puts_them_all_back(reconciled) -> None:
    s, b, _known, _ = reconciled
    chosen = [a["id"] for a in listed(s) if a["remedy"] == "reupload"][:3]
    assert len(chosen) == 3
    token = b.csrf("/actions")
    ask = b.post("/actions/reupload", data={"csrf": token, "id": chosen})
    assert ask.status_code == 200 and 'name="confirmed" value="1"' in ask.text
    assert {a["state"] for a in listed(s) if a["id"] in chosen} == {"open"}
    done = b.post("/actions/reupload", data={"csrf": token, "id": chosen, "confirmed": "1"})
    assert done.status_code == 200
    assert {a["state"] for a in listed(s) if a["id"] in chosen} == {"in_progress"}


def test_another_companys_actions_are_not_found(reconciled) -> None:
    s, _b, _known, _ = reconciled
    other = s.browser()
    other.login(s.user("accountant", "b"))
    some = listed(s)[0]["id"]
    assert other.get(f"/actions/{some}").status_code == 404
    page = other.get("/actions")  # (the id's digits may turn up in a CSRF token: look for links)
    assert page.status_code == 200 and f'href="/actions/{some}"' not in page.text
    token = auth.create_token(s.ledger, "accountant_b")
    api = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/v1/actions").json() == []
    assert api.post(f"/api/v1/actions/{some}/do").status_code == 404
    assert api.get("/api/v1/actions", params={"tenant": s.tenant_a}).status_code == 404


def test_the_api_lists_what_the_cli_lists_and_does_what_it_does(reconciled) -> None:
    s, _b, _known, _ = reconciled
    token = auth.create_token(s.ledger, "accountant_a")
    api = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/v1/actions").json() == cli_actions(s)
    listed = api.get("/api/v1/actions", params={"state": "all", "category": "mismatched"})
    assert listed.json() == cli_actions(s, "--state", "all", "--category", "mismatched")
    action = next(a for a in cli_actions(s) if a["remedy"] == "reupload")
    done = api.post(f"/api/v1/actions/{action['id']}/do")
    assert done.status_code == 200
    assert done.json()["state"] == "in_progress" and done.json()["remedy"] == "reupload"
    again = run_cli(
        "--db", db_url(s), "actions", "do", action["id"], "--json",
        env={"FAPIAO_USER": "accountant_a"},
    )  # fmt: skip
    assert again.returncode == 0  # in progress: the CLI may carry it out again, as the API may
    assert api.get("/api/v1/actions").json() == cli_actions(s)


def test_the_api_reconciles_an_upload_and_refuses_what_cannot_be_right(sqlite_site) -> None:
    s = sqlite_site
    known = fresh(s, 3)
    token = auth.create_token(s.ledger, "accountant_a")
    api = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def send(body: bytes, **form: str) -> httpx.Response:
        data = {"tenant": str(s.tenant_a), **form}
        return api.post("/api/v1/reconcile", data=data, files={"export": ("e.xlsx", body, XLSX)})

    ok = send(export_of(known))
    assert ok.status_code == 200, ok.text
    assert ok.json()["matched"] == 3 and len(ok.json()["missing_at_authority"]) == 6
    assert ok.json()["actions"]["opened"] == 6
    # the same list as the platform downloads a long period: zipped
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("全量发票查询_1.xlsx", export_of(known))
    zipped = api.post(
        "/api/v1/reconcile",
        data={"tenant": str(s.tenant_a)},
        files={"export": ("下载.zip", bundle.getvalue(), "application/zip")},
    )
    assert zipped.status_code == 200, zipped.text
    assert zipped.json()["matched"] == 3 and zipped.json()["actions"]["kept"] == 6
    # … and as the older Excel format (.xls)
    old = api.post(
        "/api/v1/reconcile",
        data={"tenant": str(s.tenant_a)},
        files={
            "export": ("全量发票查询.xls", xls_of(export_of(known)), "application/vnd.ms-excel")
        },
    )
    assert old.status_code == 200, old.text
    assert old.json()["matched"] == 3 and old.json()["actions"]["kept"] == 6
    before = counts(db_url(s))
    from dataclasses import replace

    from fapiao.model import Party

    theirs = [
        replace(record_from_invoice(i), buyer=Party("别家", OTHER)) for i in [s.factory_b.invoice()]
    ]
    for body, code in (
        (write_export(theirs), "export_other_taxpayer"),
        (b"\xd0\xcf not a spreadsheet", "export_unusable"),
    ):
        refused = send(body)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == code
    refused = send(export_of(known), period="2001-01")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "export_period_mismatch"
    assert counts(db_url(s)) == before  # nothing recorded by any refusal
    everything = write_export([record_from_invoice(i) for i in ledger_invoices(s, s.tenant_a)])
    ask = send(everything)
    assert ask.status_code == 409 and ask.json()["error"]["code"] == "confirm_needed"
    assert counts(db_url(s)) == before
    applied = send(everything, confirm="true")
    assert applied.status_code == 200 and applied.json()["actions"]["closed"] == 6


def test_a_reconcile_closing_more_than_half_the_open_actions_asks_first(sqlite_site) -> None:
    s = sqlite_site
    b = s.browser()
    b.login(s.user("accountant", "a"))
    first = upload(b, s, export_of(fresh(s, 2)))
    assert first.status_code == 200
    opened = len(listed(s))
    assert opened == 6
    # now a file with the six the platform lacked: every open action would close
    everything = [record_from_invoice(i) for i in ledger_invoices(s, s.tenant_a)]
    before = counts(db_url(s))
    ask = upload(b, s, write_export(everything))
    assert ask.status_code == 200 and 'id="reconcile-confirm"' in ask.text
    assert counts(db_url(s)) == before and len(listed(s)) == opened
    rid = ask.text.split('name="rid" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": b.csrf("/reconcile"), "rid": rid, "tenant": str(s.tenant_a), "period": ""}
    other = s.browser()
    other.login(s.user("accountant", "b"))
    assert (
        other.post("/reconcile/confirm", data={**form, "csrf": other.csrf("/")}).status_code == 404
    )
    applied = b.post("/reconcile/confirm", data=form)
    assert applied.status_code == 200 and 'id="reconcile-result"' in applied.text
    assert listed(s) == []  # all closed, as confirmed
    assert b.post("/reconcile/confirm", data=form).status_code == 404  # the upload is gone


def test_the_outbox_shows_what_waits_and_parks_and_retries(sqlite_site) -> None:
    s = sqlite_site
    b = s.browser()
    b.login(s.user("accountant", "a"))
    page = b.get("/outbox")
    assert page.status_code == 200
    queued = page.text.split('id="outbox-queued"', 1)[1].split("</section>", 1)[0]
    assert queued.count('<tr id="entry-') == 6  # tenant A's imports, never synced
    token = auth.create_token(s.ledger, "viewer_a")
    api = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"})
    entries = api.get("/api/v1/outbox").json()
    assert len(entries) == 6 and {e["tenant_id"] for e in entries} == {s.tenant_a}
    first = entries[0]["id"]
    parked = b.post(f"/outbox/{first}/park", data={"csrf": b.csrf("/outbox"), "reason": "待核对"})
    assert parked.status_code == 303
    (p,) = api.get("/api/v1/outbox", params={"group": "parked"}).json()
    assert p["id"] == first and "待核对" in p["reason"]
    assert "待核对" in b.get("/outbox").text.split('id="outbox-parked"', 1)[1]
    retried = b.post(f"/outbox/{first}/retry", data={"csrf": b.csrf("/outbox")})
    assert retried.status_code == 303
    assert api.get("/api/v1/outbox", params={"group": "parked"}).json() == []
    other = s.browser()
    other.login(s.user("accountant", "b"))
    assert other.post(f"/outbox/{first}/park", data={"csrf": other.csrf("/")}).status_code == 404
    viewer = s.browser()
    viewer.login(s.user("viewer", "a"))
    assert viewer.post(f"/outbox/{first}/retry", data={"csrf": viewer.csrf("/")}).status_code == 403


def test_backups_show_the_last_runs_and_warn_when_old(sqlite_site, monkeypatch) -> None:
    from fapiao.backup.tables import record_runs

    s = sqlite_site
    b = s.browser()
    b.login(s.user("viewer", "a"))
    assert "还没有任何备份" in b.get("/backups").text
    record_runs(s.ledger, "backup", [{"target": "/srv/backup", "ok": True, "snapshot_id": "s1"}])
    page = b.get("/backups").text
    assert "/srv/backup" in page and 'data-level="ok"' in page and 'data-level="none"' in page
    assert "秒前" in page and "北京时间" in page  # its age and time in the reader's words
    monkeypatch.setenv("FAPIAO_CHECK_BACKUP_WARN_H", "-1")
    token = auth.create_token(s.ledger, "viewer_a")
    api = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"})
    (target,) = api.get("/api/v1/backups").json()["targets"]
    assert target["target"] == "/srv/backup" and target["backup_level"] == "warn"
    assert target["drill_level"] == "none" and target["last_good"]["snapshot_id"] == "s1"
    assert 'data-level="warn"' in b.get("/backups").text
