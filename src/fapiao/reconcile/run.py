"""One reconciliation from the outside in: which tenant and period, where the authority's list comes
from (the platform's URL through its connector, or export files), and where the report goes.
The command line and the demo call this; it knows no Typer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fapiao import plugins
from fapiao.authority.export_table import table_of
from fapiao.authority.records import period_range
from fapiao.findings import Finding, Refusal
from fapiao.ledger import checkpoint
from fapiao.ledger.store import Ledger
from fapiao.model import AuthorityRecord
from fapiao.reconcile import deduction, gate, remedies
from fapiao.reconcile.engine import Result, read_ahead, reconcile
from fapiao.reconcile.report import Actions, to_xlsx
from fapiao.reconcile.sources import AuthorityRows, Scope

ALL_FROM = dt.date(2000, 1, 1)  # the list's range when no period is given


class UsageError(Refusal, ValueError):
    """The request cannot be run as given (exit code 2); the message is `Chinese / English`."""

    usage = True

    def __init__(self, message: str) -> None:
        zh, _, en = message.partition(" / ")
        super().__init__(Refusal.said("usage", zh, en or zh))


class Refused(UsageError):
    """The platform list cannot be right (another taxpayer's, not an export …): nothing was
    changed. Carries the finding that says why (exit code 1)."""

    usage = False

    def __init__(self, reason: Finding) -> None:
        Refusal.__init__(self, reason)


@dataclass(slots=True)
class Outcome:
    result: Result
    authority: str  # where the list came from, as shown in reports
    tenant_name: str
    findings: list[Finding] = field(default_factory=list)  # problems in the export files
    summary: remedies.RunSummary | None = None
    attestation: str = ""  # the newest signed checkpoint of the audit chain, for the reports


def resolve_scope(ledger: Ledger, tenant: str | None, period: str | None) -> tuple[Scope, str]:
    rows = ledger.tenant_rows()
    if tenant:
        picked = [r for r in rows if tenant in (str(r["id"]), r["tax_id"])]
    else:
        picked = rows if len(rows) == 1 else []
    if not picked:
        raise UsageError(
            f"找不到企业 / no such tenant: {tenant}"
            if tenant
            else "请用 --tenant 指定企业 / choose a tenant with --tenant"
        )
    t = picked[0]
    lo = hi = None
    if period:
        try:
            if len(period) not in (4, 7):
                raise ValueError(period)
            lo, hi = period_range(period)
        except ValueError as exc:
            raise UsageError(
                f"期间应为 YYYY-MM 或 YYYY / period must be YYYY-MM or YYYY: {period}"
            ) from exc
    return Scope(int(t["id"]), t["tax_id"], t["name"], period or "", lo, hi), t["name"]


def load_authority(
    source: str | None, scope: Scope
) -> tuple[list[AuthorityRecord] | AuthorityRows, list[Finding], str]:
    """The platform's records for the scope: from a URL (connector `list`), or export files read
    column-wise into one Arrow table (no Python object per row)."""
    source = _source(source)
    if not source:
        raise UsageError(
            "需要 --authority 文件或网址（或 $FAPIAO_AUTHORITY） / --authority FILE|URL is required"
        )
    if _remote(source):
        from fapiao.authority.http import HttpConnector

        lo = scope.date_from or ALL_FROM
        hi = scope.date_to or dt.date.today() + dt.timedelta(days=366)
        with HttpConnector(source) as conn:
            return list(conn.list(scope.tax_id, lo, hi)), [], source
    from fapiao.authority.files import read_export_files

    path = Path(source)
    if not path.exists():
        raise UsageError(f"文件不存在 / no such file: {source}")
    table, findings = read_export_files(path)
    return AuthorityRows(table), findings, str(path)


def _source(authority: str | None) -> str | None:
    """Where the list comes from: as given, or `$FAPIAO_AUTHORITY`."""
    return authority or os.environ.get("FAPIAO_AUTHORITY")


def _remote(source: str | None) -> bool:
    return (source or "").startswith(("http://", "https://"))


def run(
    ledger: Ledger,
    *,
    tenant: str | None,
    period: str | None,
    authority: str | None,
    backend: str = "auto",
    file_actions: bool = True,
    ask_over_half: bool = False,
) -> Outcome:
    """Reconcile and file the findings. `ask_over_half`: raise `gate.NeedsConfirmation` before
    anything is recorded when the result would close more than half the open actions (the web
    asks; the command line applies, as it always has)."""
    scope, name = resolve_scope(ledger, tenant, period)
    # the ledger read while an export file is read (seconds); after the platform's listing, which
    # may take minutes, so that the ledger compared is the ledger as it stands then
    remote = _remote(_source(authority))
    ledger_side = (
        contextlib.nullcontext(None)
        if remote
        else read_ahead(ledger.engine, scope, backend=backend)
    )
    with ledger_side as ahead:
        records, findings, label = load_authority(authority, scope)
        if not remote:  # the platform's own API answers per taxpayer
            rows = records.table if isinstance(records, AuthorityRows) else table_of(records)
            reason = gate.refusal(rows, findings, scope, label)
            if reason is not None:
                raise Refused(reason)
            partial = gate.coverage_warning(rows, scope, label)
            findings += [partial] if partial else []
        result = reconcile(ledger.engine, scope, records, backend=backend, ahead=ahead)
    deduction.compare(ledger.engine, result, records)  # 勾选, where the list states it
    if file_actions and ask_over_half:
        closing = gate.closing(ledger.engine, result)
        if closing.closing and closing.over_half:
            raise gate.NeedsConfirmation(closing)
    outcome = Outcome(result, label, name, findings, attestation=checkpoint.stamp(ledger.engine))
    if file_actions:
        outcome.summary = remedies.record_run(ledger, result, authority=label)
        from fapiao.contingency.incidents import after_reconcile

        after_reconcile(ledger, result)  # a cluster of missing invoices opens an incident
    if result.findings:
        plugins.notify(
            ledger.engine, "reconcile.findings", scope.tenant_id, **findings_facts(result, name)
        )
    return outcome


def findings_facts(result: Result, tenant_name: str) -> dict[str, Any]:
    """The figures a reconcile.findings message names: how many each side lacks, and their sum."""
    entries = result.entries
    facts: dict[str, Any] = {"tenant": tenant_name, "period": result.scope.period or "全部 all"}
    for cat in ("missing_at_authority", "missing_in_ledger", "mismatched"):
        facts[cat] = len(entries[cat])
        facts[f"{cat}_total_fen"] = sum(e.total for e in entries[cat])
    return facts


def actions_index(ledger: Ledger, tenant_id: int) -> Actions:
    return {
        (a["category"], a["identity_key"]): a
        for a in remedies.list_actions(ledger.engine, tenant_id=tenant_id)
    }


def write_report(outcome: Outcome, path: Path, actions: Actions | None = None) -> None:
    suffix = path.suffix.lower()
    kw = {
        "tenant": outcome.tenant_name,
        "authority": outcome.authority,
        "actions": actions,
        "attestation": outcome.attestation,
    }
    if suffix in (".html", ".htm"):
        from fapiao.reconcile.html import to_html

        path.write_text(to_html(outcome.result, **kw), encoding="utf-8")  # type: ignore[arg-type]
    elif suffix == ".xlsx":
        path.write_bytes(to_xlsx(outcome.result, **kw))  # type: ignore[arg-type]
    elif suffix == ".json":
        import json

        doc = outcome.result.to_json() | {"checkpoint": outcome.attestation}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        raise UsageError(
            f"报告格式应为 .html、.xlsx 或 .json / report must be .html, .xlsx or .json: {path}"
        )
