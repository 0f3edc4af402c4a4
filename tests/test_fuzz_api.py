"""Fuzzing the HTTP API over a real server: schemathesis on every operation of the OpenAPI
document (valid and invalid inputs, every check that fits), and mutated invoice files uploaded
to `/api/v1/parse` and `/api/v1/import` (each answered 200 with every file accounted for, never a
5xx; the audit chain intact afterwards). The budget is `FAPIAO_FUZZ_API_EXAMPLES` per operation
and the parser fuzz's variables (tests/fuzz_support.py); `make fuzz` raises them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from fapiao.auth import users as auth
from fapiao.ledger import audit
from tests.fuzz_support import RANDOM, campaign
from tests.test_fuzz_parsers import TARGETS, seeds
from tests.test_web_support import Site, build_site

API_EXAMPLES = int(os.environ.get("FAPIAO_FUZZ_API_EXAMPLES", "5"))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, str]]:
    tmp = tmp_path_factory.mktemp("fuzz-api")
    s, server = build_site(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)
    token = auth.create_token(s.ledger, "admin_a")
    try:
        yield s, token
    finally:
        server.close()
        s.ledger.engine.dispose()
        auth.drop_caches()


@pytest.fixture(scope="module")
def api_schema(live: tuple[Site, str]) -> schemathesis.BaseSchema:
    s, _ = live
    return schemathesis.openapi.from_url(f"{s.url}/api/v1/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=API_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not RANDOM,
    database=None,
)
def test_every_operation_under_fuzzing(case: schemathesis.Case, live: tuple[Site, str]) -> None:
    s, token = live
    # positive_data_acceptance does not fit: business rules (check digits, tenants that must
    # exist) rightly answer 422 with a finding to inputs the schema allows.
    case.call_and_validate(
        base_url=s.url,
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[positive_data_acceptance],
    )


@pytest.mark.parametrize("endpoint", ["parse", "import"])
def test_mutated_uploads_are_answered_file_by_file(endpoint: str, live: tuple[Site, str]) -> None:
    s, token = live
    kinds = [k for k in TARGETS if k != "image"]  # OCR per upload would eat the whole budget
    http = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)

    def one(data: st.DataObject) -> None:
        files = []
        for n in range(data.draw(st.integers(1, 3), label="files")):
            kind = data.draw(st.sampled_from(kinds), label="kind")
            pool = seeds(kind)
            body = TARGETS[kind](data, pool[data.draw(st.integers(0, len(pool) - 1))])
            files.append(("files", (f"{n}.{kind}", body)))
        _upload(http, endpoint, files)

    try:
        assert campaign(one, round_size=3) > 0
    finally:
        http.close()
    assert audit.verify(s.ledger.engine).ok


def _upload(http: httpx.Client, endpoint: str, files: list[tuple[str, tuple[str, bytes]]]) -> None:
    r = http.post(f"/api/v1/{endpoint}", files=files)
    assert r.status_code == 200, r.text[:2000]
    body = r.json()
    if endpoint == "parse":
        assert len(body) >= len(files)
        return
    answered = [o["file"] for key in body for o in body[key]]
    for name, _ in (f for _, f in files):
        assert any(a == name or a.startswith((f"{name}!", f"{name}[")) for a in answered), name
    for rejected in body["rejected"]:
        assert rejected["findings"], rejected
