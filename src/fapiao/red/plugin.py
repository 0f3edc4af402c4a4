"""红字确认单 declared as a capability: its table, migration, commands, pages, finding codes, and
the 红冲状态 every invoice listing can show and filter on."""

from fapiao.capability import Capability, ListState, NavEntry, StateField, StateValue
from fapiao.hooks import hookimpl

# fen reversed by numbered red invoices (a red draft the platform has not numbered reverses
# nothing yet, as in service.reversed_so_far); the literal `<> ''` lets the partial index
# ix_invoices_red_original (tables.py) answer
_REVERSED = (
    "(SELECT -SUM(xr.total) FROM invoices xr WHERE xr.tenant_id = i.tenant_id "
    "AND xr.original_key <> '' AND xr.original_key = i.identity_key "
    "AND xr.status = 'red' AND xr.number <> '')"
)
# the blue invoices that have a red one, found from the few red invoices
_REVERSED_IDS = (
    "SELECT xo.id FROM invoices xr JOIN invoices xo ON xo.tenant_id = xr.tenant_id "
    "AND xo.identity_key = xr.original_key WHERE xr.original_key <> '' AND xr.status = 'red'"
)
REVERSAL = ListState(
    name="reversal",
    zh="红冲状态",
    en="Reversal",
    values=(
        StateValue(
            "red_partial",
            "部分红冲",
            "partly reversed",
            f"i.status = 'normal' AND {_REVERSED} > 0 AND {_REVERSED} < i.total",
            ids=_REVERSED_IDS,
        ),
        StateValue(
            "red_full",
            "全额红冲",
            "fully reversed",
            f"i.status = 'normal' AND {_REVERSED} >= i.total",
            ids=_REVERSED_IDS,
        ),
    ),
    fields=(StateField("reversed", _REVERSED, "已红冲金额", "reversed", kind="fen"),),
    order=40,
)

CAPABILITY = Capability(
    name="red",
    zh="红字确认单",
    en="Red-letter requests",
    # issues through the outbox (fapiao.sync) until sync is declared as a capability
    requires=("ledger", "ops", "sync"),
    tables=("fapiao.red.tables",),
    migrations="fapiao.red.migrations",
    cli=("fapiao.red.cli",),
    commands=("red",),
    pages=("fapiao.red.pages",),
    nav=(NavEntry("/red", "红字确认单", "Red requests", permission="read", order=44),),
    checks=("fapiao.red.checks",),
    findings=("fapiao.red.findings",),
    states=(REVERSAL,),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
