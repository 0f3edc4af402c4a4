"""`fapiao serve --authority URL` runs the outbox worker too: invoices imported while the server runs
reach the sandbox platform and are confirmed there, with no separate `fapiao sync`."""

import json
import signal
import socket
import subprocess
import time

import httpx

from fapiao_dev.sandbox.run import SandboxProcess
from tests.conftest import FAPIAO, run_cli, write_invoice


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status_once_listening(url: str, deadline: float) -> int:
    """The status of GET `url`, asked again while nothing listens yet: the outbox worker starts
    before the web server binds its port, and on a slow machine it confirms a few invoices first."""
    while True:
        try:
            return httpx.get(url, timeout=10).status_code
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def states(db_url: str) -> dict[str, str]:
    rows = json.loads(run_cli("--db", db_url, "list", "--json", check=True).stdout)
    return {r["number"]: r["authority_state"] for r in rows}


def test_serve_with_an_authority_confirms_imported_invoices(db_url, factory, tmp_path):
    sandbox = SandboxProcess(tmp_path / "platform").start()
    server = None
    try:
        run_cli(
            "--db",
            db_url,
            "tenant",
            "add",
            "--tax-id",
            factory.home.tax_id,
            "--name",
            "甲",
            check=True,
        )
        invoices = [factory.invoice() for _ in range(4)]
        for n, inv in enumerate(invoices):
            write_invoice(tmp_path / "in" / f"{n}.json", inv)
        run_cli("--db", db_url, "import", str(tmp_path / "in"), check=True)
        assert set(states(db_url).values()) == {"queued"}

        port = free_port()
        server = subprocess.Popen(
            [FAPIAO, "--db", db_url, "serve", "--port", str(port), "--authority", sandbox.url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and set(states(db_url).values()) != {"confirmed"}:
            time.sleep(1)
        assert set(states(db_url).values()) == {"confirmed"}
        for inv in invoices:
            key = inv.identity.key
            assert httpx.get(f"{sandbox.url}/api/v1/invoices/{key}", timeout=10).status_code == 200
        healthz = f"http://127.0.0.1:{port}/healthz"
        assert _status_once_listening(healthz, time.monotonic() + 30) == 200
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        sandbox.stop()
