"""Running the sandbox: in the foreground (`fapiao sandbox`), in a thread, or as a child process.

The server binds the port it is given (0: a free one) before it starts, then prints
`sandbox listening on http://127.0.0.1:PORT` so a parent process can read the address.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from fapiao_dev.sandbox.faults import FaultPlan

READY = "sandbox listening on "


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _server(app: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    return uvicorn.Server(config)


def serve(data_dir: Path, plan: FaultPlan, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Run in the foreground until SIGINT/SIGTERM."""
    from fapiao_dev.sandbox.server import create_app

    sock = _bind(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "url").write_text(url, encoding="utf-8")
    server = _server(create_app(data_dir, plan))
    sys.stdout.write(READY + url + "\n")
    sys.stdout.flush()
    server.run(sockets=[sock])


class SandboxThread:
    """uvicorn in a thread of this process: `with SandboxThread(dir) as sb: sb.url`."""

    def __init__(self, data_dir: Path, plan: FaultPlan | None = None, *, port: int = 0) -> None:
        from fapiao_dev.sandbox.server import create_app

        self.app = create_app(data_dir, plan)
        self._sock = _bind("127.0.0.1", port)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = _server(self.app)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> SandboxThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("sandbox did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


class SandboxProcess:
    """`fapiao sandbox` as a child process; `stop()` ends it, `start()` brings it back on its port."""

    def __init__(self, data_dir: Path, *, faults: dict[str, Any] | None = None) -> None:
        self.data_dir = data_dir
        self.faults = faults
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> SandboxProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "fapiao_dev.sandbox.run", str(self.data_dir)]
        cmd.append(str(self.port))
        if self.faults is not None:
            plan = self.data_dir / "faults.json"
            plan.write_text(json.dumps(self.faults), encoding="utf-8")
            cmd.append(str(plan))
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        assert self.proc.stdout is not None
        line = _readline(self.proc.stdout, 20)
        if not line.startswith(READY):
            self.stop()
            raise RuntimeError(f"sandbox did not start: {line!r}")
        self.url = line[len(READY) :].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def set_faults(self, plan: dict[str, Any]) -> dict[str, Any]:
        r = httpx.put(f"{self.url}/api/v1/faults", json=plan, timeout=10)
        r.raise_for_status()
        result: dict[str, Any] = r.json()
        return result

    def stats(self) -> dict[str, int]:
        r = httpx.get(f"{self.url}/api/v1/admin/stats", timeout=30)
        r.raise_for_status()
        result: dict[str, int] = r.json()
        return result

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


def _readline(stream: IO[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


if __name__ == "__main__":  # the child side of SandboxProcess
    from fapiao_dev.sandbox.server import load_plan

    args = sys.argv[1:]
    serve(
        Path(args[0]),
        load_plan(Path(args[2]) if len(args) > 2 else None),
        port=int(args[1]) if len(args) > 1 else 0,
    )
