"""入账 and 报销 declared as a capability: its tables, migration, commands, invoice-page block, and
the two states every invoice listing can show and filter on (入账状态, 报销状态)."""

from fapiao.capability import Capability, ListState, NavEntry, StateField, StateValue
from fapiao.hooks import hookimpl

# received invoices only: an issued invoice is neither booked nor unbooked here
_BOOKED = "EXISTS (SELECT 1 FROM bookings xb WHERE xb.invoice_id = i.id)"
_CLAIMED = (
    "EXISTS (SELECT 1 FROM expense_claims xc WHERE xc.invoice_id = i.id "
    "AND xc.active_key IS NOT NULL)"
)
_RECEIVED = "i.direction = 'received'"

BOOKING = ListState(
    name="booking",
    zh="入账状态",
    en="Booking",
    values=(
        StateValue(
            "booked",
            "已入账",
            "booked",
            f"{_RECEIVED} AND {_BOOKED}",
            ids="SELECT xb.invoice_id FROM bookings xb",
        ),
        StateValue("unbooked", "未入账", "not booked", f"{_RECEIVED} AND NOT {_BOOKED}"),
    ),
    join="LEFT JOIN bookings {a} ON {a}.invoice_id = i.id",
    fields=(
        StateField("voucher", "{a}.voucher", "凭证号", "voucher"),
        StateField("at", "{a}.booked_at", "入账时间", "booked at", brief=False),
        StateField("by", "{a}.booked_by", "入账人", "booked by", brief=False),
    ),
    order=20,
)
CLAIM = ListState(
    name="claim",
    zh="报销状态",
    en="Reimbursement",
    values=(
        StateValue(
            "claimed",
            "已报销",
            "claimed",
            f"{_RECEIVED} AND {_CLAIMED}",
            ids="SELECT xc.invoice_id FROM expense_claims xc WHERE xc.active_key IS NOT NULL",
        ),
        # only a blue invoice can be claimed (service.claim): a red one is not "unclaimed"
        StateValue(
            "unclaimed",
            "未报销",
            "not claimed",
            f"{_RECEIVED} AND i.status = 'normal' AND NOT {_CLAIMED}",
        ),
    ),
    # at most one standing line per invoice: the unique active_key (tables.py)
    join="LEFT JOIN expense_claims {a} ON {a}.invoice_id = i.id AND {a}.active_key IS NOT NULL",
    fields=(
        StateField("claim", "{a}.claim_no", "报销单号", "claim no."),
        StateField("person", "{a}.person", "报销人", "claimant"),
        StateField("at", "{a}.claimed_at", "报销时间", "claimed at", brief=False),
        StateField("by", "{a}.claimed_by", "报销登记人", "claimed by", brief=False),
    ),
    order=30,
)

CAPABILITY = Capability(
    name="expense",
    zh="入账与报销",
    en="Booking and reimbursement",
    requires=("ledger", "ops"),
    tables=("fapiao.expense.tables",),
    migrations="fapiao.expense.migrations",
    cli=("fapiao.expense.cli",),
    commands=("book", "expense"),
    pages=("fapiao.expense.pages",),
    nav=(NavEntry("/expense", "入账报销", "Booked / claimed", permission="read", order=43),),
    checks=("fapiao.expense.checks",),
    findings=("fapiao.expense.findings",),
    states=(BOOKING, CLAIM),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
