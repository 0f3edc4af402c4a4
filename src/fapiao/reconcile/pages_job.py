"""The reconcile page's job, run in a child process (`jobs.run_in_process`) so that the server's
interpreter is never held by it: a 1,000,000-row export takes a minute of CPU, some of it in single
C-level steps of a second.

The child opens the ledger from its URL (the server's engine cannot cross a process boundary),
reconciles the upload saved in the run's folder, deletes the upload once read, writes both reports
beside it and returns the page's context as plain data. A refused list is a `Problem` (422) with the
finding's code and message; nothing was recorded then. A result that would close more than half the
open actions is not applied until the person confirms (the upload waits in its folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.reconcile import run as reconcile_run
from fapiao.reconcile.engine import CATEGORIES
from fapiao.reconcile.gate import NeedsConfirmation
from fapiao.web import charts
from fapiao.web.security import Problem

LABELS = {
    "missing_at_authority": ("平台缺失", "missing at authority"),
    "missing_in_ledger": ("台账缺失", "missing in ledger"),
    "mismatched": ("字段不一致", "mismatched"),
    "status_mismatch": ("状态不一致", "status mismatch"),
    "duplicates_at_authority": ("平台重复", "duplicates at authority"),
    "deduction_mismatch": ("勾选不一致", "deduction selection differs"),
}
SHOWN = 100  # findings listed on the page per category; the reports hold them all


def reconcile(
    url: str,
    actor: str,
    tenant: int,
    period: str | None,
    source: str,
    lang: str,
    confirmed: bool = False,
) -> dict[str, Any]:
    """Reconcile `source` for the tenant as `actor`; reports go beside `source`. Unless
    `confirmed`, a result closing more than half the open actions is not applied: the upload
    stays and the page asks (`{"confirm": {closing, open}}`)."""
    engine = open_engine(url, migrate=False)  # the server has migrated it
    try:
        led = Ledger(engine, actor=actor)
        keep = False
        try:
            outcome = reconcile_run.run(
                led,
                tenant=str(tenant),
                period=period,
                authority=source,
                ask_over_half=not confirmed,
            )
        except NeedsConfirmation as exc:  # nothing recorded: the upload waits for the answer
            keep = True
            return {"confirm": {"closing": exc.closing.closing, "open": exc.closing.open}}
        except reconcile_run.Refused as exc:  # the wrong list: nothing was recorded
            reason = exc.finding
            raise Problem(422, reason.code, reason.message, reason.message_en) from exc
        except reconcile_run.UsageError as exc:
            raise Problem(422, "reconcile_usage", str(exc), str(exc)) from exc
        finally:
            if not keep:  # the upload is read: only the reports stay
                Path(source).unlink(missing_ok=True)
        actions = reconcile_run.actions_index(led, tenant)
        for fmt in ("xlsx", "html"):
            reconcile_run.write_report(outcome, Path(source).with_name(f"report.{fmt}"), actions)
    finally:
        engine.dispose()
    return view(outcome, lang)


def view(outcome: reconcile_run.Outcome, lang: str) -> dict[str, Any]:
    """The page's context: counts, the first findings of each category, the chart."""
    result = outcome.result
    counts = {c: len(result.entries[c]) for c in result.categories}
    summary = {
        "ledger_count": result.ledger_count,
        "authority_count": result.authority_count,
        "matched": result.matched,
    }
    shown = {c: [e.to_json() for e in result.entries[c][:SHOWN]] for c in CATEGORIES}
    chart = charts.bars(
        [LABELS.get(c, (c, c))[1 if lang == "en" else 0] for c in counts],
        [charts.Series("findings" if lang == "en" else "差异", list(counts.values()))],
        title="reconcile findings",
    )
    return {
        "result": True,
        "json": summary | shown,
        "counts": counts,
        "labels": LABELS,
        "chart": chart,
        "file_findings": outcome.findings[:SHOWN],
    }
