"""The comparison as one SQL statement: both sides joined once on the identity key.

The statement runs over three relations: `auth` (the authority's list), the ledger's invoices and
the identity keys its red invoices reverse (`led_red`). It is the same text in DuckDB (over Arrow
tables) and in PostgreSQL (over the ledger's own tables and the list copied into a temporary
table). One full outer join of the tenant's invoices in scope (`l`) with the list's records in
scope (`a`) yields only the rows that are findings: an invoice one side lacks, one the list holds
more than once, or one where a comparison below finds the sides disagree. Each comparison is a
column of its own in the result (`d_<category>`), so the rows are sorted into categories by
reading flags, not by comparing again; counts come from a second, scalar statement.

A new kind of finding about invoices both sides hold is one more `Comparison`: the columns it
reads (present under the same name in the ledger's relation and in `auth`), the SQL that says the
two disagree, and the fields of its finding. Nothing else in the statement changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fapiao.money import format_fen
from fapiao.reconcile.sources import Scope

Row = dict[str, Any]  # one row of the statement: `l_<column>` and `a_<column>` for each column


@dataclass(frozen=True, slots=True)
class Comparison:
    """One way the two sides of an invoice both hold can disagree: a category of findings."""

    category: str
    columns: tuple[str, ...]  # read on both sides, as `l_<column>` and `a_<column>` in a row
    differs: str  # SQL over `l.` and `a.`: true when the sides disagree
    # the finding's own fields (beyond those every finding has), or None for no finding
    entry: Callable[[Row], dict[str, Any] | None]


# (name in the report, column, kind)
COMPARED = (
    ("issue_date", "issue_date", "date"),
    ("amount", "amount", "money"),
    ("tax", "tax", "money"),
    ("total", "total", "money"),
    ("seller.tax_id", "seller_tax_id", "text"),
    ("buyer.tax_id", "buyer_tax_id", "text"),
)


def show(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "money":
        return format_fen(int(value))
    if kind == "date":
        return value.isoformat()
    return str(value)


def _fields(row: Row) -> dict[str, Any] | None:
    fields = {
        name: {"ledger": show(kind, row[f"l_{col}"]), "authority": show(kind, row[f"a_{col}"])}
        for name, col, kind in COMPARED
        if row[f"l_{col}"] != row[f"a_{col}"]
    }
    return {"fields": fields} if fields else None


def _statuses(row: Row) -> dict[str, Any]:
    return {"ledger_status": row["l_est"], "authority_status": row["a_est"]}


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "mismatched",
        tuple(col for _, col, _ in COMPARED),
        " OR ".join(f"l.{col} <> a.{col}" for _, col, _ in COMPARED),
        _fields,
    ),
    # `est`: each side's effective status (see the relations `l` and `a` below)
    Comparison("status_mismatch", ("est",), "l.est <> a.est", _statuses),
)

# read for every finding: its date, 价税合计 and parties come from whichever side holds it
BASE_COLUMNS = ("issue_date", "total", "seller_tax_id", "buyer_tax_id")


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def in_period(column: str, scope: Scope) -> str:
    if scope.date_from is None or scope.date_to is None:
        return "1 = 1"
    lo, hi = lit(scope.date_from.isoformat()), lit(scope.date_to.isoformat())
    return f"{column} BETWEEN DATE {lo} AND DATE {hi}"


def relations(scope: Scope, led: str, led_red: str) -> str:
    """The WITH clause: `a0` the list's records of the tenant in scope, `g` the keys it holds more
    than once (few), `a` and `l` each side in scope with its effective status `est`: a blue invoice
    that a red one reverses counts as `red` on that side."""
    me = lit(scope.tax_id)

    def mine(x: str) -> str:
        return f"({x}.seller_tax_id = {me} OR {x}.buyer_tax_id = {me})"

    a_scope = l_scope = ""
    if scope.date_from is not None:
        # in scope when either side dates it inside the period
        a_scope = (
            f"AND ({in_period('x.issue_date', scope)} OR x.key IN "
            f"(SELECT y.key FROM {led} y WHERE {in_period('y.issue_date', scope)}))"
        )
        l_scope = (
            f"WHERE {in_period('x.issue_date', scope)} OR x.key IN "
            f"(SELECT y.key FROM auth y WHERE {mine('y')} AND {in_period('y.issue_date', scope)})"
        )
    # `a0` is read by `g` and by `a`: inlined into both rather than copied once
    return f"""
WITH a0 AS NOT MATERIALIZED (
  SELECT x.* FROM auth x WHERE {mine("x")} {a_scope}
),
g AS (SELECT key, MIN(rn) AS rn1, COUNT(*) AS n FROM a0 GROUP BY key HAVING COUNT(*) > 1),
a AS (
  SELECT x.*,
    CASE
      WHEN x.status = 'normal' AND (x.total < 0 OR x.platform_status LIKE '%红冲%'
        OR x.key IN (SELECT original_key FROM auth WHERE status = 'red' OR total < 0)) THEN 'red'
      WHEN x.status = 'normal' AND x.platform_status LIKE '%作废%' THEN 'void'
      ELSE x.status
    END AS est
  FROM a0 x
),
l AS (
  SELECT x.*,
    CASE
      WHEN x.status = 'normal' AND (x.total < 0 OR x.key IN (SELECT r.original_key FROM {led_red} r))
        THEN 'red'
      ELSE x.status
    END AS est
  FROM {led} x
  {l_scope}
)"""


def diff_sql(scope: Scope, led: str, led_red: str) -> str:
    """The findings, one row per invoice: `key`, `in_l`, `in_a`, `l_<c>`/`a_<c>` for the columns
    read, `rn` (the list's row compared: the first listing of a duplicate), `listed` (how often the
    list holds a duplicate, else NULL) and a flag `d_<category>` per comparison."""
    columns = list(dict.fromkeys([*BASE_COLUMNS, *(c for k in COMPARISONS for c in k.columns)]))
    sides = ", ".join(f"l.{c} AS l_{c}, a.{c} AS a_{c}" for c in columns)
    flags = ", ".join(f"({k.differs}) AS d_{k.category}" for k in COMPARISONS)
    differs = " OR ".join(f"({k.differs})" for k in COMPARISONS)
    return f"""{relations(scope, led, led_red)}
SELECT COALESCE(l.key, a.key) AS key, l.key IS NOT NULL AS in_l, a.key IS NOT NULL AS in_a,
  {sides}, a.rn AS rn, g.n AS listed, {flags}
FROM l FULL OUTER JOIN a ON l.key = a.key
LEFT JOIN g ON g.key = a.key
WHERE (g.key IS NULL OR a.rn = g.rn1)
  AND (l.key IS NULL OR a.key IS NULL OR g.key IS NOT NULL OR {differs})"""


def counts_sql(scope: Scope, led: str, led_red: str) -> str:
    """How many invoices each side holds in scope (the list's duplicates counted each time)."""
    return f"{relations(scope, led, led_red)}\nSELECT (SELECT COUNT(*) FROM l), (SELECT COUNT(*) FROM a0)"
