"""Shared by the web, API, security and browser tests: a real server on a free loopback port over
a ledger with two tenants (A and B), one user per role, and a cookie-keeping HTTP client.

The session cookie is Secure, which a cookie jar will not send over plain HTTP on 127.0.0.1, so
`Browser` keeps cookies itself the way a browser on a trusted loopback origin does.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from fapiao.auth import users as auth
from fapiao.ingest import import_paths
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.web.app import create_app
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import write_invoice

PASSWORD = "correct horse 7"
ROLES = ("admin", "accountant", "auditor", "viewer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn in a thread, on a free port; stops on `close()`."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Browser:
    """An HTTP client that keeps cookies (Secure ones too) and finds CSRF tokens in pages."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, follow_redirects=False, timeout=30)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        resp = self.http.request(method, path, headers=headers, **kw)
        for raw in resp.headers.get_list("set-cookie"):
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0].strip('"')
            if "max-age=0" in raw.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return resp

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        page = self.get("/login")
        token = csrf_in(page.text)
        return self.post(
            "/login", data={"name": name, "password": password, "csrf": token, "next": "/"}
        )

    def csrf(self, path: str = "/") -> str:
        return csrf_in(self.get(path).text)

    def close(self) -> None:
        self.http.close()


def csrf_in(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


@dataclass
class Site:
    url: str
    app: Any
    ledger: Ledger
    tenant_a: int
    tenant_b: int
    a_ids: list[str]
    b_ids: list[str]
    factory_a: InvoiceFactory
    factory_b: InvoiceFactory
    tmp: Path

    def browser(self) -> Browser:
        return Browser(self.url)

    def user(self, role: str, tenant: str = "a") -> str:
        return f"{role}_{tenant}"


def build_site(db_url: str, tmp: Path, per_tenant: int = 6) -> tuple[Site, Server]:
    engine = open_engine(db_url)
    ledger = Ledger(engine, actor="test")
    fa, fb = InvoiceFactory(seed=11), InvoiceFactory(seed=22)
    ta, _ = ledger.add_tenant(tax_id=fa.home.tax_id, name=fa.home.name)
    tb, _ = ledger.add_tenant(tax_id=fb.home.tax_id, name=fb.home.name)
    assert ta and tb
    for tag, factory in (("a", fa), ("b", fb)):
        for n in range(per_tenant):
            write_invoice(tmp / f"inbox_{tag}" / f"{n:03d}.json", factory.invoice())
    sa = import_paths(ledger, [tmp / "inbox_a"])
    sb = import_paths(ledger, [tmp / "inbox_b"])
    for role in ROLES:
        for tag, tid in (("a", ta), ("b", tb)):
            tenants = [] if role == "admin" else [str(tid)]
            auth.add_user(
                ledger, name=f"{role}_{tag}", password=PASSWORD, role=role, tenants=tenants
            )
    app = create_app(engine=engine)
    server = Server(app)
    site = Site(
        server.url,
        app,
        ledger,
        ta,
        tb,
        [o.id for o in sa.imported],
        [o.id for o in sb.imported],
        fa,
        fb,
        tmp,
    )
    return site, server


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(db_url, tmp_path)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()
        auth.drop_caches()


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    s, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)
    try:
        yield s
    finally:
        server.close()
        s.ledger.engine.dispose()
        auth.drop_caches()
