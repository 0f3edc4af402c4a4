"""One refusal type: every refused request carries a finding from the catalog, whatever raised
it, and the command line and the web answer them alike (exit 2 or 1; one problem JSON shape)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fapiao.auth.actor import ActorRefused
from fapiao.contingency.common import ContingencyError
from fapiao.findings import CATALOG, Refusal, finding
from fapiao.insight.categories import CategoryError
from fapiao.ledger.db import open_engine
from fapiao.ledger.listing import BadQuery
from fapiao.ops.tickets import TicketError
from fapiao.reconcile.remedies import ActionError
from fapiao.reconcile.run import Refused, UsageError
from fapiao.web.app import create_app
from tests.conftest import run_cli
from tests.test_web_support import Server

# each former refusal exception with its own arguments, and the exit code the CLI has always used
CASES = [
    (ActorRefused("actor_required", "须具名", "needs a name"), "actor_required", 2),
    (ContingencyError("没有", "none", code="not_found"), "not_found", 2),
    (ContingencyError("状态不对", "wrong state", code="state"), "state", 1),
    (TicketError("bad_priority", "优先级", "priority"), "bad_priority", 2),
    (TicketError("no_invoice", "没有发票", "no invoice"), "no_invoice", 1),
    (TicketError("closed", "已关闭", "closed"), "closed", 1),
    (CategoryError("没有类别 X", "no category X"), "bad_category", 1),
    (BadQuery("sort: 'x'"), "bad_filter", 2),
    (Refused(finding("export_unusable", source="a.xlsx", detail="?")), "export_unusable", 1),
    (UsageError("文件不存在 / no such file: a.xlsx"), "usage", 2),
    (ActionError("事项已关闭 / the action is closed (done)"), "state", 1),
]


@pytest.mark.parametrize(("exc", "code", "exit_code"), CASES, ids=lambda v: type(v).__name__)
def test_every_refusal_carries_a_catalog_finding(exc, code, exit_code):
    assert isinstance(exc, Refusal)
    assert exc.code == code == exc.finding.code and code in CATALOG
    assert exc.exit_code == exit_code and exc.status == (422 if exit_code == 2 else 409)
    assert exc.to_json()["error"]["message"] == exc.zh and exc.zh and exc.en
    assert exc.finding.is_error


def test_a_code_outside_the_catalog_is_a_bug():
    with pytest.raises(KeyError):
        ContingencyError("?", "?", code="made_up")
    assert "audit_broken" in CATALOG


def test_the_cli_answers_a_refusal_with_its_finding(tmp_path):
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    run_cli(
        "--db", db, "user", "add", "clerk", "--role", "admin", env={"FAPIAO_PASSWORD": "x" * 14}
    )
    proc = run_cli("--db", db, "--as", "nobody", "import", str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "没有用户 nobody / no user 'nobody'" in proc.stderr


def test_the_web_answers_an_unanswered_refusal_with_the_problem_shape(tmp_path: Path):
    engine = open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    app = create_app(engine=engine)

    @app.get("/api/v1/refuse/{code}")
    def refuse(code: str) -> None:
        raise TicketError(code, "不行", "no")

    server = Server(app)
    try:
        r = httpx.get(server.url + "/api/v1/refuse/closed")
        assert r.status_code == 409
        assert r.json() == {"error": {"code": "closed", "message": "不行", "message_en": "no"}}
        assert httpx.get(server.url + "/api/v1/refuse/too_long").status_code == 422
    finally:
        server.close()
        engine.dispose()


def test_the_refusal_examples_hold():
    import doctest

    import fapiao.findings

    result = doctest.testmod(fapiao.findings, report=False)
    assert result.failed == 0 and result.attempted >= 3


@pytest.mark.parametrize(("exc", "code", "exit_code"), CASES[:3], ids=lambda v: type(v).__name__)
def test_a_refusal_crosses_a_process_boundary_whole(exc, code, exit_code):
    import pickle

    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and back.finding == exc.finding
    assert back.exit_code == exit_code and str(back) == str(exc)
