"""The ledger's 勾选 of a period against the platform's (its list of selected invoices).

Pure: takes the ledger's status (`status.status_of`, with invoices) and the platform's listing
(`GET /api/v1/deduct`, the sandbox's shape) and names every difference, as reconcile does for the
invoices themselves.
"""

from __future__ import annotations

from typing import Any


def _key(item: dict[str, Any]) -> str:
    code, number = item.get("code") or "", item.get("number") or ""
    return f"{code}-{number}" if code else number


def compare(ledger: dict[str, Any], platform: dict[str, Any]) -> dict[str, Any]:
    ours = {_key(i): i for i in ledger.get("invoices", [])}
    theirs = {_key(i): i for i in platform.get("items", [])}
    purpose_differs = [
        {"key": k, "ledger": ours[k]["purpose"], "authority": theirs[k]["purpose"]}
        for k in sorted(ours.keys() & theirs.keys())
        if ours[k]["purpose"] != theirs[k]["purpose"]
    ]
    out = {
        "period": ledger["period"],
        "ledger_count": len(ours),
        "authority_count": len(theirs),
        "only_in_ledger": sorted(ours.keys() - theirs.keys()),
        "only_at_authority": sorted(theirs.keys() - ours.keys()),
        "purpose_differs": purpose_differs,
        "confirmed": {"ledger": ledger["confirmed"], "authority": bool(platform.get("confirmed"))},
    }
    out["agree"] = not (
        out["only_in_ledger"]
        or out["only_at_authority"]
        or purpose_differs
        or out["confirmed"]["ledger"] != out["confirmed"]["authority"]
    )
    return out
