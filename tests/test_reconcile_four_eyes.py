# ruff: noqa: F811  (the `db` fixture is imported, and named so by its module)
"""Four eyes on reconcile remedies, from the command line: with the tenant's policy on, a remedy
that changes the books becomes a request; the requester approving it is refused with the finding
`four_eyes`; a second person's approval carries it out, both names in the audit chain. Letters that
only ask are drafted at once. With the policy off, remedies act at once as before."""

from __future__ import annotations

import json
from types import SimpleNamespace

import httpx
from typer.testing import CliRunner

from fapiao.cli import app
from fapiao.reconcile import remedies
from tests.test_reconcile_cli import (  # noqa: F401  (the fixture: a ledger a bit off the export)
    CENT_OFF,
    HOME,
    NOT_IN_LEDGER,
    XLSX,
    db,
)
from tests.test_web_support import Site, sqlite_site  # noqa: F401

runner = CliRunner()


def as_(db: str, who: str, *args: str) -> SimpleNamespace:
    """The command line in this process (fast), as the person `who`."""
    res = runner.invoke(app, ["--db", db, "--as", who, *args])
    return SimpleNamespace(returncode=res.exit_code, stdout=res.stdout, stderr=res.stderr)


def run_cli(*args: str) -> SimpleNamespace:
    return as_(args[1], "auditor", *args[2:])


def reconcile_json(db: str) -> None:
    assert as_(db, "wang", "reconcile", "--authority", str(XLSX), "--json").returncode == 1


def actions(db: str) -> dict[str, dict]:
    listed = json.loads(run_cli("--db", db, "actions", "list", "--json").stdout)
    return {a["number"]: a for a in listed}


def in_ledger(db: str, number: str) -> bool:
    return number in run_cli("--db", db, "list", "--json").stdout


def test_a_remedy_that_changes_the_books_needs_a_second_person(db: str) -> None:
    reconcile_json(db)
    assert as_(db, "wang", "tenant", "policy", HOME, "--four-eyes").returncode == 0
    take = actions(db)[NOT_IN_LEDGER]
    assert take["remedy"] == "take_authority"

    asked = as_(db, "wang", "actions", "do", take["id"], "--json")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["state"] == "pending_approval"
    assert not in_ledger(db, NOT_IN_LEDGER)  # nothing carried out yet
    again = as_(db, "wang", "actions", "do", take["id"])
    assert again.returncode == 1 and "approve" in again.stderr

    own = as_(db, "wang", "actions", "approve", take["id"], "--json")
    assert own.returncode == 1
    refused = json.loads(own.stdout)["error"]
    assert refused["code"] == "four_eyes" and "cli:wang" in refused["message"]
    assert actions(db)[NOT_IN_LEDGER]["state"] == "pending_approval"
    assert not in_ledger(db, NOT_IN_LEDGER)

    done = as_(db, "li", "actions", "approve", take["id"], "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["state"] == "resolved"
    assert in_ledger(db, NOT_IN_LEDGER)

    shown = json.loads(run_cli("--db", db, "actions", "show", take["id"], "--json").stdout)
    steps = [(h["actor"], h["action"]) for h in shown["history"]]
    assert steps[1:] == [
        ("cli:wang", "reconcile.action_requested"),
        ("cli:li", "reconcile.action_approved"),
        ("cli:li", "reconcile.action_performed"),
    ]
    approved = shown["history"][2]["payload"]
    assert (approved["requested_by"], approved["approved_by"]) == ("cli:wang", "cli:li")
    assert run_cli("--db", db, "audit", "verify").returncode == 0


def test_a_letter_that_only_asks_is_drafted_at_once(db: str) -> None:
    reconcile_json(db)
    as_(db, "wang", "tenant", "policy", HOME, "--four-eyes")
    cent = actions(db)[CENT_OFF]
    assert cent["remedy"] == "ask_copy"
    letter = as_(db, "wang", "actions", "do", cent["id"])
    assert letter.returncode == 0 and "副本" in letter.stdout
    assert actions(db)[CENT_OFF]["state"] == "in_progress"
    # asking the counterparty to 补开 commits the company: that one waits for a second person
    changed = as_(db, "wang", "actions", "set", cent["id"], "--remedy", "request_reissue")
    assert changed.returncode == 0, changed.stderr
    asked = json.loads(as_(db, "wang", "actions", "do", cent["id"], "--json").stdout)
    assert asked["state"] == "pending_approval" and not asked["letter"]
    # the remedy changed after the request: the approval is refused, nothing done
    as_(db, "wang", "actions", "set", cent["id"], "--remedy", "ask_copy")
    stale = as_(db, "li", "actions", "approve", cent["id"])
    assert stale.returncode == 1 and "request it again" in stale.stderr


def test_without_the_policy_remedies_act_at_once_and_approve_has_nothing_to_do(db: str) -> None:
    reconcile_json(db)
    take = actions(db)[NOT_IN_LEDGER]
    done = json.loads(as_(db, "wang", "actions", "do", take["id"], "--json").stdout)
    assert done["state"] == "resolved" and in_ledger(db, NOT_IN_LEDGER)
    nothing = as_(db, "li", "actions", "approve", take["id"])
    assert nothing.returncode == 1 and "no request awaiting approval" in nothing.stderr
    assert (
        as_(db, "li", "actions", "set", take["id"], "--state", "pending_approval").returncode == 2
    )


def test_the_api_requests_and_a_second_person_approves(sqlite_site: Site) -> None:
    s = sqlite_site
    db, aid = _an_action_under_four_eyes(s)

    def api(user: str) -> httpx.Client:
        token = as_(db, "admin_a", "user", "token", user).stdout.strip()
        return httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"})

    wang, boss, other = api("accountant_a"), api("admin_a"), api("accountant_b")
    assert other.post(f"/api/v1/actions/{aid}/do").status_code == 404  # not their company
    asked = wang.post(f"/api/v1/actions/{aid}/do")
    assert asked.status_code == 200 and asked.json()["state"] == "pending_approval"
    own = wang.post(f"/api/v1/actions/{aid}/approve")
    assert own.status_code == 409 and own.json()["error"]["code"] == "four_eyes"
    done = boss.post(f"/api/v1/actions/{aid}/approve")
    assert done.status_code == 200 and done.json()["state"] == "in_progress"
    history = json.loads(as_(db, "admin_a", "actions", "show", aid, "--json").stdout)["history"]
    assert [(h["actor"], h["action"]) for h in history][1:4] == [
        ("web:accountant_a", "reconcile.action_requested"),
        ("web:admin_a", "reconcile.action_approved"),
        ("web:admin_a", "reconcile.action_performed"),
    ]


def test_the_web_page_asks_a_second_person_to_approve(sqlite_site: Site) -> None:
    s = sqlite_site
    db, aid = _an_action_under_four_eyes(s)

    wang, boss = s.browser(), s.browser()
    wang.login("accountant_a")
    boss.login("admin_a")
    page = f"/actions/{aid}"
    assert 'id="action-approve"' not in wang.get(page).text  # nothing asked yet
    wang.post(f"{page}/do", data={"csrf": wang.csrf(page)})
    asked = boss.get(page).text
    assert 'data-state="pending_approval"' in asked and 'id="action-approve"' in asked
    assert "web:accountant_a" in asked  # who asked is named beside the button
    own = wang.post(f"{page}/approve", data={"csrf": wang.csrf(page)})
    assert own.status_code == 409 and "pending_approval" in wang.get(page).text  # nothing changed
    done = boss.post(f"{page}/approve", data={"csrf": boss.csrf(page)})
    assert done.status_code == 200
    assert 'data-state="in_progress"' in boss.get(page).text
    history = json.loads(as_(db, "admin_a", "actions", "show", aid, "--json").stdout)["history"]
    assert ("web:admin_a", "reconcile.action_approved") in [
        (h["actor"], h["action"]) for h in history
    ]


def _an_action_under_four_eyes(s: Site) -> tuple[str, int]:
    """Company A asks for four eyes; the platform lists none of its invoices, so each is an action
    "missing at the authority". The ledger's URL and one such action."""
    from fapiao.reconcile.engine import reconcile
    from fapiao.reconcile.run import resolve_scope

    db = s.ledger.engine.url.render_as_string(hide_password=False)
    tax_a = s.factory_a.home.tax_id
    scope, _ = resolve_scope(s.ledger, tax_a, None)
    remedies.record_run(s.ledger, reconcile(s.ledger.engine, scope, []), authority="test")
    assert as_(db, "admin_a", "tenant", "policy", tax_a, "--four-eyes").returncode == 0
    listed = json.loads(as_(db, "admin_a", "actions", "list", "--json").stdout)
    return db, next(a["id"] for a in listed if a["category"] == "missing_at_authority")
