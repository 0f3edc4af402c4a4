"""Real receivers on loopback for the notification tests: an SMTP server (aiosmtpd) that keeps
every mail, and an HTTP server that keeps every POST a `json://` channel makes."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from fapiao.cli import app
from tests.test_web_support import free_port

runner = CliRunner()


def cli(db: str, *args: str) -> Any:
    """The command line in this process (Typer's runner), as the user `admin`."""
    return runner.invoke(app, ["--db", db, *args], env={"FAPIAO_USER": "admin"})


class Mailbox:
    """aiosmtpd on a free port; `mails` holds each message received, parsed."""

    def __init__(self) -> None:
        self.mails: list[email.message.EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def text(self, i: int = 0) -> str:
        body = self.mails[i].get_body(preferencelist=("plain",))
        return str(self.mails[i]["subject"]) + "\n" + (body.get_content() if body else "")

    def url(self, to: str = "finance@example.com") -> str:
        # apprise: no TLS on loopback (mode=insecure), a sender, one recipient
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from=fapiao@example.com&to={to}"

    def close(self) -> None:
        self.controller.stop()


class Hook:
    """A webhook receiver: `posts` holds each JSON body; may be started on a port chosen before."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.posts: list[dict[str, Any]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> Hook:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("content-length", "0"))
                posts.append(json.loads(self.rfile.read(size) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
