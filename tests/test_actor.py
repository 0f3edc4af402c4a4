"""A person behind every change: the command line acts as `--as NAME`, `$FAPIAO_USER` or the OS
login; once the ledger has users, an anonymous write is refused before it starts and every event
names the person."""

from __future__ import annotations

import getpass
import json

import pytest
from sqlalchemy import text

from tests.conftest import run_cli, write_invoice

PASSWORD = "a long enough passphrase 1"


@pytest.fixture
def with_user(db_url, factory, tmp_path):
    run_cli("--db", db_url, "tenant", "add", "--tax-id", factory.home.tax_id, "--name", "甲",
            check=True)  # fmt: skip
    run_cli("--db", db_url, "user", "add", "wang", "--role", "accountant",
            env={"FAPIAO_PASSWORD": PASSWORD}, check=True)  # fmt: skip
    write_invoice(tmp_path / "in" / "a.json", factory.invoice())
    return tmp_path / "in"


def actors(ledger) -> list[str]:
    with ledger.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT actor FROM events ORDER BY seq"))]


def test_the_first_user_may_be_added_anonymously(ledger, db_url, with_user):
    assert actors(ledger)[:1] == ["cli"]  # the tenant, before any user existed


def test_anonymous_write_refused_once_users_exist(ledger, db_url, with_user):
    before = actors(ledger)
    proc = run_cli("--db", db_url, "import", str(with_user), env={"FAPIAO_USER": ""})
    assert proc.returncode == 2
    assert "--as" in proc.stderr and "具名用户" in proc.stderr
    assert actors(ledger) == before  # nothing written
    listed = run_cli("--db", db_url, "list", "--json", env={"FAPIAO_USER": ""})
    assert listed.returncode == 0  # reading needs no name


def test_named_writes_record_the_person(ledger, db_url, with_user):
    proc = run_cli("--db", db_url, "--as", "wang", "import", str(with_user))
    assert proc.returncode == 0, proc.stderr
    assert actors(ledger)[-1] == "cli:wang"
    proc = run_cli("--db", db_url, "tenant", "add", "--tax-id", "91320594769869645C",
                   "--name", "乙", env={"FAPIAO_USER": "wang"})  # fmt: skip
    assert proc.returncode == 0 and actors(ledger)[-1] == "cli:wang"
    key = str(json.loads(run_cli("--db", db_url, "list", "--json", check=True).stdout)[0]["id"])
    shown = json.loads(run_cli("--db", db_url, "show", key, "--json", check=True).stdout)
    assert [e["actor"] for e in shown["events"]] == ["cli:wang"]  # the import, by its person


def test_unknown_and_disabled_names_are_refused(ledger, db_url, with_user):
    assert run_cli("--db", db_url, "--as", "nobody", "import", str(with_user)).returncode == 2
    run_cli("--db", db_url, "user", "add", "li", "--role", "admin",
            env={"FAPIAO_PASSWORD": PASSWORD, "FAPIAO_USER": "wang"}, check=True)  # fmt: skip
    run_cli("--db", db_url, "--as", "li", "user", "disable", "wang", check=True)
    proc = run_cli("--db", db_url, "--as", "wang", "import", str(with_user))
    assert proc.returncode == 2 and "disabled" in proc.stderr


def test_the_os_login_is_the_default_person(ledger, db_url, with_user):
    login = getpass.getuser()
    run_cli("--db", db_url, "--as", "wang", "user", "add", login, "--role", "accountant",
            env={"FAPIAO_PASSWORD": PASSWORD}, check=True)  # fmt: skip
    proc = run_cli("--db", db_url, "import", str(with_user), env={"FAPIAO_USER": ""})
    assert proc.returncode == 0, proc.stderr
    assert actors(ledger)[-1] == f"cli:{login}"


def test_four_eyes_keeps_the_requester_from_approving(ledger, db_url, with_user, tmp_path):
    def cli(*args, who="wang", **kw):
        return run_cli("--db", db_url, "--as", who, *args, **kw)

    cli("user", "add", "li", "--role", "accountant", env={"FAPIAO_PASSWORD": PASSWORD}, check=True)
    cli("tenant", "policy", "1", "--four-eyes", check=True)
    made = cli("reissue", "create", "--tenant", "1", "--invoice", "25110000000000000001",
               "--counterparty-name", "丙", "--total", "100.00", "--json", check=True)  # fmt: skip
    rid = json.loads(made.stdout)["id"]
    for material in ("statement", "proof"):
        (tmp_path / f"{material}.pdf").write_bytes(b"%PDF-1.4 material")
        cli("reissue", "attach", str(rid), str(tmp_path / f"{material}.pdf"),
            "--material", material, check=True)  # fmt: skip
    cli("reissue", "submit", str(rid), check=True)
    own = cli("reissue", "approve", str(rid))
    assert own.returncode == 1 and "four eyes" in own.stderr and "四眼" in own.stderr
    other = cli("reissue", "approve", str(rid), who="li")
    assert other.returncode == 0, other.stderr
    assert actors(ledger)[-1] == "cli:li"
    cli("tenant", "policy", "1", "--no-four-eyes", check=True)
    assert "tenant.policy" in [a for a in _actions(ledger)]


def _actions(ledger) -> list[str]:
    with ledger.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT action FROM events ORDER BY seq"))]
