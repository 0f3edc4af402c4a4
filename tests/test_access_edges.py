"""Hostile edges of the web app from the outside: control characters in search terms, ids beyond
64 bits, user names that cannot be told apart by status or time, `X-Forwarded-For` from a peer that
is no configured proxy, and a disabled user refused at once by every worker of `fapiao serve`."""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fapiao.ledger.db import open_engine
from fapiao.web.app import create_app
from tests.conftest import FAPIAO, run_cli
from tests.test_web_support import PASSWORD, Browser, Server, Site, free_port, sqlite_site

__all__ = ["sqlite_site"]

HUGE = "9" * 25  # beyond 64 bits


def test_control_characters_in_search_terms_are_refused_with_a_message(sqlite_site: Site) -> None:
    b = sqlite_site.browser()
    b.login("accountant_a")
    for params in ({"q": "abc\x00def"}, {"q": "\x00"}, {"counterparty": "x\x07y"}):
        r = b.get("/api/v1/invoices", params=params)
        assert r.status_code == 422, (params, r.status_code)
        err = r.json()["error"]
        assert err["code"] == "invalid" and "控制字符" in err["message"]
        assert "control character" in err["message_en"]
        r = b.get("/api/v1/invoices/export", params=params)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/json")
        r = b.get("/invoices", params=params)
        assert r.status_code == 400 and "控制字符" in r.text and "<html" in r.text
        for path in ("/invoices/export.csv", "/invoices/export.xlsx", "/invoices/print"):
            r = b.get(path, params=params)
            assert r.status_code == 400 and "控制字符" in r.text, path
    # tabs and ordinary text still search
    assert b.get("/api/v1/invoices", params={"q": "有限公司"}).status_code == 200


def test_ids_beyond_64_bits_are_not_found(sqlite_site: Site) -> None:
    b = sqlite_site.browser()
    b.login("admin_a")
    for path in (
        f"/invoices/{HUGE}",
        f"/invoices/{HUGE}/original",
        f"/invoices/{HUGE}/print.pdf",
        f"/tickets/{HUGE}",
        f"/contingency/incidents/{HUGE}",
        f"/contingency/reissue/{HUGE}",
    ):
        r = b.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert "<html" in r.text
    for path in (f"/api/v1/invoices/{HUGE}", f"/api/v1/invoices/{HUGE}/original"):
        r = b.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
    r = b.get(f"/invoices/{2**63}")
    assert r.status_code == 404


# --- against `fapiao serve` in its own process -------------------------------------------------


@dataclass
class Served:
    url: str
    db: str
    env: dict[str, str]

    def browser(self) -> Browser:
        return Browser(self.url)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli("--db", self.db, *args, check=check, env=self.env)


def _serve(tmp: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    db = str(tmp / "served.sqlite")
    port = free_port()
    full = {**os.environ, "FAPIAO_PASSWORD": PASSWORD, **(env or {})}
    if "FAPIAO_TRUSTED_PROXIES" not in (env or {}):
        full.pop("FAPIAO_TRUSTED_PROXIES", None)
    run_cli("--db", db, "user", "add", "boss", "--role", "admin", check=True, env=full)
    full["FAPIAO_USER"] = "boss"  # from the first user on, the command line acts as a person
    run_cli("--db", db, "user", "add", "clerk", "--role", "viewer", check=True, env=full)
    proc = subprocess.Popen(
        [FAPIAO, "--db", db, "serve", "--port", str(port), *extra],
        env={**full, "FAPIAO_CHECK_FIRST_DELAY_S": "3600"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("fapiao serve did not start")
        time.sleep(0.2)
    try:
        yield Served(url, db, full)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path)


@pytest.fixture
def served_real_argon2(tmp_path: Path) -> Iterator[Served]:
    """The library's argon2 cost (3 passes, 64 MiB), as production runs, so timing shows."""
    yield from _serve(
        tmp_path, env={"FAPIAO_ARGON2_TIME_COST": "3", "FAPIAO_ARGON2_MEMORY_KIB": "65536"}
    )


@pytest.fixture
def served_trusting_loopback(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path, env={"FAPIAO_TRUSTED_PROXIES": "127.0.0.1"})


@pytest.fixture
def served_two_workers(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path, "--workers", "2")


def test_unknown_and_locked_users_answer_alike(served_real_argon2: Served) -> None:
    s = served_real_argon2
    b = s.browser()
    for _ in range(10):
        assert b.login("clerk", "wrong password").status_code == 401
    locked = b.login("clerk")  # the right password, on a locked account
    unknown = b.login("nobody_here")
    assert locked.status_code == unknown.status_code == 401
    assert "fapiao_session" not in b.cookies

    def timed(name: str) -> float:
        start = time.perf_counter()
        r = b.login(name, "some password")
        assert r.status_code == 401
        return time.perf_counter() - start

    t_locked, t_unknown = [], []
    for _ in range(7):
        t_locked.append(timed("clerk"))
        t_unknown.append(timed("nobody_here"))
    ml, mu = statistics.median(t_locked), statistics.median(t_unknown)
    print(f"login median: locked {ml * 1000:.1f} ms, unknown {mu * 1000:.1f} ms")
    # both pay one argon2 verify; the machine is shared, so only a factor of 3 is asserted
    assert max(ml, mu) / min(ml, mu) < 3


def test_forwarded_for_from_an_untrusted_peer_is_ignored(served: Served) -> None:
    b = served.browser()
    for n in range(50):
        r = b.login("clerk", "wrong password") if n % 10 else b.login("nobody", "x")
        b.cookies.pop("fapiao_session", None)
    # fifty failures from this address: spoofing another one does not help
    page = b.get("/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = b.post(
        "/login",
        data={"name": "clerk", "password": PASSWORD, "csrf": token, "next": "/"},
        headers={"X-Forwarded-For": "203.0.113.77"},
    )
    assert r.status_code == 429


def test_a_trusted_proxy_is_believed(served_trusting_loopback: Served) -> None:
    s = served_trusting_loopback
    b = s.browser()
    page = b.get("/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    b.post(
        "/login",
        data={"name": "clerk", "password": PASSWORD, "csrf": token, "next": "/"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    with sqlite3.connect(s.db) as conn:
        ips = [r[0] for r in conn.execute("SELECT ip FROM login_attempts")]
    assert ips == ["203.0.113.9"]


def _keep_warm(
    url: str, cookies: dict[str, str], bearer: dict[str, str], stop: threading.Event
) -> None:
    """Keeps the workers' caches fresh (a session and a token, both verified within 5 s)."""
    w = Browser(url, cookies=dict(cookies))
    while not stop.is_set():
        w.get("/api/v1/me")
        w.get("/api/v1/me", headers=bearer)


def test_disabling_a_user_reaches_every_worker_at_once(served_two_workers: Served) -> None:
    s = served_two_workers
    b = s.browser()
    assert b.login("clerk").status_code == 303
    token = s.cli("user", "token", "clerk").stdout.strip()
    bearer = {"Authorization": f"Bearer {token}"}
    stop = threading.Event()
    thread = threading.Thread(target=_keep_warm, args=(s.url, b.cookies, bearer, stop))
    thread.start()
    try:
        time.sleep(1)
        s.cli("user", "disable", "clerk")  # while the workers hold the session in their caches
    finally:
        stop.set()
        thread.join()
    codes = [b.get("/api/v1/me").status_code for _ in range(10)]
    codes += [b.get("/api/v1/me", headers=bearer).status_code for _ in range(10)]
    assert set(codes) == {401}, codes


def test_an_unforeseen_failure_keeps_the_error_shape(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    app = create_app(engine=engine)

    @app.get("/api/v1/boom")
    def boom_api() -> None:
        raise RuntimeError("a bug")

    @app.get("/boom")
    def boom_page() -> None:
        raise RuntimeError("a bug")

    server = Server(app)
    try:
        r = httpx.get(server.url + "/api/v1/boom")
        assert r.status_code == 500
        assert r.json() == {
            "error": {
                "code": "internal",
                "message": "服务器内部错误，请稍后重试",
                "message_en": "internal error, try again",
            }
        }
        r = httpx.get(server.url + "/boom")
        assert r.status_code == 500 and "<html" in r.text and "服务器内部错误" in r.text
        assert "a bug" not in r.text and "Traceback" not in r.text
    finally:
        server.close()
        engine.dispose()
