"""The one place that speaks to apprise: whether it can use a URL, and sending one message.

apprise reports a failure as False and explains it in its log, so the log of the attempt is
captured and returned as the error. Its e-mail plug-in imports the deprecated `imghdr` when its
plug-ins are first loaded; that warning is apprise's, so it is silenced here and nowhere else.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def _apprise() -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        yield apprise


def accepts(url: str) -> bool:
    """apprise knows the scheme and finds what it needs in the URL (a token, a host…)."""
    with _apprise() as apprise:
        return "://" in url and bool(apprise.Apprise().add(url))


def send(url: str, title: str, body: str) -> str | None:
    """Send one message; None when it was accepted, else what went wrong."""
    with _apprise() as apprise:
        sender = apprise.Apprise()
        if not sender.add(url):
            return "apprise cannot use the channel's URL"
        try:
            # the message alone: a timestamp in it is the log's, not the failure's
            with apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s") as log:
                # the body is plain text: said so, apprise keeps its line breaks in a mail's
                # plain part (unsaid, they were folded into one line, the checkpoint's JSON too)
                ok = sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
    if ok:
        return None
    lines = [line for line in log.getvalue().splitlines() if line.strip()]
    return " | ".join(lines[-3:])[-1000:] or "not delivered"
