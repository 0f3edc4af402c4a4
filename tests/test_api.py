"""The REST API for scripts: tokens from the CLI, the CLI's operations over HTTP, and schemathesis
against the OpenAPI document (no 500s, responses match the schema)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from fapiao.auth import users as auth
from fapiao.codec import invoice_to_json
from tests.conftest import FAPIAO, run_cli
from tests.export_support import HOME, HOME_NAME, XLSX, own_invoice
from tests.test_web_support import Server, Site, build_site, site, sqlite_site  # noqa: F401

__all__ = ["site", "sqlite_site"]


def test_token_from_cli_drives_the_api(sqlite_site: Site) -> None:
    s = sqlite_site
    db = str(s.ledger.engine.url)
    made = run_cli(
        "--db", db, "user", "token", "accountant_a", check=True, env={"FAPIAO_USER": "admin_a"}
    )
    token = made.stdout.strip()
    assert token.startswith("fpt_")
    api = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"})
    me = api.get("/api/v1/me").json()
    assert me == {"name": "accountant_a", "role": "accountant", "tenants": [s.tenant_a]}
    page = api.get("/api/v1/invoices", params={"direction": "issued", "limit": 200}).json()
    assert page["items"] and all(r["direction"] == "issued" for r in page["items"])
    good, dup = s.factory_a.invoice(), s.factory_a.invoice()
    files = [
        ("files", ("a.json", json.dumps(invoice_to_json(good), ensure_ascii=False).encode())),
        ("files", ("b.txt", b"not an invoice")),
    ]
    result = api.post("/api/v1/import", files=files).json()
    assert [o["number"] for o in result["imported"]] == [good.number]
    assert result["rejected"][0]["file"] == "b.txt"
    parsed = api.post(
        "/api/v1/parse", files=[("files", ("d.json", json.dumps(invoice_to_json(dup)).encode()))]
    ).json()
    assert parsed[0]["number"] == dup.number and parsed[0]["findings"] == []
    assert api.get("/api/v1/invoices", params={"q": dup.number}).json()["items"] == []
    # the whole chain names every tenant's invoices: a tenant's accountant may not walk it
    refused = api.get("/api/v1/audit/verify")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ledger_wide"
    assert api.get("/api/v1/users").status_code == 403  # an accountant is not an admin
    auth.revoke_tokens(s.ledger, "accountant_a")
    assert api.get("/api/v1/me").status_code == 401


def _fapiao(*args: str, password: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FAPIAO_PASSWORD"}
    if password is not None:
        env["FAPIAO_PASSWORD"] = password
    return subprocess.run(
        [FAPIAO, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL
    )


def test_cli_user_add_takes_the_password_from_the_environment(tmp_path: Path) -> None:
    db = str(tmp_path / "l.sqlite")
    r = _fapiao("--db", db, "user", "add", "boss", "--role", "admin", password="s3cret-pass")
    assert r.returncode == 0, r.stderr
    r = _fapiao("--db", db, "user", "add", "boss2", "--role", "admin", password=None)
    assert r.returncode == 2 and "FAPIAO_PASSWORD" in r.stderr
    r = _fapiao("--db", db, "user", "add", "x", "--role", "king", password="s3cret-pass")
    assert r.returncode == 2
    r = _fapiao("--db", db, "user", "add", "boss", "--role", "admin", password="s3cret-pass")
    assert r.returncode == 2 and "--as" in r.stderr  # users exist: a named person adds users
    r = _fapiao(
        "--db", db, "--as", "boss", "user", "add", "boss", "--role", "admin", password="s3cret-pass"
    )
    assert r.returncode == 1  # exists
    listed = json.loads(_fapiao("--db", db, "user", "list", "--json", password=None).stdout)
    assert [u["name"] for u in listed] == ["boss"]


# --- schemathesis -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, str]]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    s, server = build_site(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)
    token = auth.create_token(s.ledger, "admin_a")
    try:
        yield s, token
    finally:
        server.close()
        s.ledger.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(live: tuple[Site, str]) -> schemathesis.BaseSchema:
    s, _ = live
    return schemathesis.openapi.from_url(f"{s.url}/api/v1/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_openapi_contract(case: schemathesis.Case, live: tuple[Site, str]) -> None:
    s, token = live
    # Business rules (tax-ID check digits, tenants that must exist) reject some inputs that the
    # schema allows: a 422 with a finding is right there, so positive_data_acceptance is off.
    case.call_and_validate(
        base_url=s.url,
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[positive_data_acceptance],
    )


def _admin_api(s: Site) -> httpx.Client:
    """A script's client for the export's company, with an admin's token."""
    s.ledger.add_tenant(tax_id=HOME, name=HOME_NAME)
    db = str(s.ledger.engine.url)
    made = run_cli(
        "--db", db, "user", "token", "admin_a", check=True, env={"FAPIAO_USER": "admin_a"}
    )
    return httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {made.stdout.strip()}"})


def test_the_platform_s_export_uploaded_over_http_imports_its_rows(sqlite_site: Site) -> None:
    """The same reading as `fapiao import` (tests/test_import_platform_export.py), from a script."""
    api = _admin_api(sqlite_site)
    result = api.post(
        "/api/v1/import", files=[("files", ("全量发票查询.xlsx", XLSX.read_bytes()))]
    ).json()
    assert len(result["imported"]) == 12 and result["rejected"] == []
    assert {o["file"] for o in result["imported"]} == {
        f"全量发票查询.xlsx[row {n}]" for n in range(2, 14)
    }
    # zipped (a zip is parsed in the server's parser process): read as the same list
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as z:
        z.write(XLSX, "全量发票查询.xlsx")
    zipped = api.post("/api/v1/import", files=[("files", ("十一月.zip", bundle.getvalue()))])
    assert zipped.status_code == 200, zipped.text
    assert len(zipped.json()["duplicates"]) == 12 and zipped.json()["rejected"] == []


def test_the_invoice_s_own_file_uploaded_after_the_export_completes_its_record(
    sqlite_site: Site,
) -> None:
    """The upload says `completed`, and the record's line items are searchable at once (the
    search index follows the record it completed)."""
    api = _admin_api(sqlite_site)
    doc = own_invoice(item="*信息技术服务*软件维护服务")
    export = XLSX.read_bytes()
    first = api.post("/api/v1/import", files=[("files", ("全量发票查询.xlsx", export))]).json()
    assert len(first["imported"]) == 12 and first["completed"] == []
    assert api.get("/api/v1/invoices", params={"q": "软件维护"}).json()["items"] == []
    own = json.dumps(doc, ensure_ascii=False).encode()
    later = api.post("/api/v1/import", files=[("files", ("own.json", own))]).json()
    assert later["imported"] == later["conflicts"] == []
    assert [o["number"] for o in later["completed"]] == [doc["number"]]
    found = api.get("/api/v1/invoices", params={"q": "软件维护"}).json()["items"]
    assert [i["number"] for i in found] == [doc["number"]]
