"""Errors a connector raises when the authority cannot give an answer.

    AuthorityError
     ├── Transient            worth retrying with the same idempotency key
     │    ├── Unavailable     503, refused or reset connection (outage)
     │    ├── TimedOut        no answer in time: the request may or may not have been applied
     │    ├── RateLimited     429; carries the server's Retry-After
     │    └── ServerError     other 5xx
     └── Rejected             the authority said no; retrying the same request cannot help
          ├── Invalid         422: the invoice or the request is malformed (or a key reused)
          ├── Conflict        409: the authority holds another invoice under this number
          └── ReadOnly        the connector cannot write (an export file)

A problem in the invoice itself is a `Rejected` carrying the platform's reason; the outbox parks the
entry with that reason.
"""

from __future__ import annotations


class AuthorityError(Exception):
    """Base of the family; `reason` is what the outbox records."""

    def __init__(self, reason: str, *, status: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Transient(AuthorityError):
    pass


class Unavailable(Transient):
    pass


class TimedOut(Transient):
    pass


class RateLimited(Transient):
    def __init__(self, reason: str, *, status: int = 429, retry_after: float = 1.0) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class ServerError(Transient):
    pass


class Rejected(AuthorityError):
    pass


class Invalid(Rejected):
    pass


class Conflict(Rejected):
    pass


class ReadOnly(Rejected):
    pass
