"""The review queue (复核): quarantined input a person completes, accepts or rejects.

Its migration adds the readings and state to the ledger's `quarantine` table (declared there).
Requires authority (查验 while completing), insight (查验 settings) and auth (the pages' users)."""

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="review",
    zh="复核",
    en="Review",
    requires=("auth", "authority", "insight"),
    migrations="fapiao.review.migrations",
    cli=("fapiao.review.cli",),
    commands=("review",),
    pages=("fapiao.review.pages",),
    api=("fapiao.review.api",),
    nav=(NavEntry("/review", "复核", "Review", order=35),),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
