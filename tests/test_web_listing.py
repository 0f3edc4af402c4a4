"""The invoice list's fast path, over a real server on SQLite and PostgreSQL: keyset paging walks
every invoice once in order (also merged across granted tenants), offsets agree with it, numbers
are found by their tail, broken cursors and parameters are refused the way the declared
parameters refuse them."""

from __future__ import annotations

from fapiao.auth import users as auth
from tests.test_web_support import Site, site

__all__ = ["site"]


def _two_tenant_token(s: Site) -> dict[str, str]:
    auth.add_user(
        s.ledger,
        name="agency",
        password="agency-password",
        role="accountant",
        tenants=[str(s.tenant_a), str(s.tenant_b)],
    )
    return {"Authorization": f"Bearer {auth.create_token(s.ledger, 'agency')}"}


def _walk(s: Site, headers: dict[str, str], **params: str | int) -> list[str]:
    b = s.browser()
    ids: list[str] = []
    page = b.get("/api/v1/invoices", params={**params, "limit": 2}, headers=headers).json()
    while True:
        ids += [r["id"] for r in page["items"]]
        if not page["next_after"]:
            return ids
        assert len(ids) < 100, "paging does not end"
        page = b.get(
            "/api/v1/invoices",
            params={**params, "limit": 2, "after": page["next_after"]},
            headers=headers,
        ).json()


ORDERS = [{}, {"sort": "total", "order": "asc"}, {"sort": "recorded"}, {"sort": "seller"}]


def test_keyset_pages_walk_every_invoice_once_in_order(site: Site) -> None:
    headers = _two_tenant_token(site)
    b = site.browser()
    for order in ORDERS:
        whole = b.get("/api/v1/invoices", params={**order, "limit": 200}, headers=headers).json()
        expected = [r["id"] for r in whole["items"]]
        assert sorted(expected) == sorted(site.a_ids + site.b_ids)  # both tenants, no others
        assert _walk(site, headers, **order) == expected, order
        # offsets over the merged tenants give the same rows as slices of the whole
        third = b.get(
            "/api/v1/invoices", params={**order, "limit": 3, "offset": 3}, headers=headers
        ).json()
        assert [r["id"] for r in third["items"]] == expected[3:6], order
        if not order:
            days = [r["issue_date"] for r in whole["items"]]
            assert days == sorted(days, reverse=True)


def test_numbers_are_found_whole_by_tail_and_inside(site: Site) -> None:
    b = site.browser()
    b.login("viewer_a")
    rows = b.get("/api/v1/invoices", params={"limit": 200}).json()["items"]
    target = next(r for r in rows if len(r["number"]) == 20)
    number = target["number"]
    for term in (number, number[-8:], number[-12:], number[3:13]):
        found = b.get("/api/v1/invoices", params={"q": term}).json()["items"]
        assert target["id"] in [r["id"] for r in found], term
    other = site.factory_b.home.name  # tenant B's invoices stay out of A's number searches
    b_rows = b.get("/api/v1/invoices", params={"q": other}).json()["items"]
    assert b_rows == []


def test_broken_cursors_and_parameters_are_refused_like_the_declared_ones(site: Site) -> None:
    b = site.browser()
    b.login("accountant_a")
    first = b.get("/api/v1/invoices", params={"limit": 1}).json()
    cursor = first["next_after"]
    assert cursor
    wrong_order = b.get("/api/v1/invoices", params={"after": cursor, "sort": "total"})
    assert wrong_order.status_code == 422
    assert wrong_order.json()["error"]["code"] == "invalid"
    assert b.get("/api/v1/invoices", params={"after": "bm90LWpzb24"}).status_code == 422
    cases = [
        {},
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "200"},
        {"offset": "-1"},
        {"offset": "10000001"},
        {"tenant": "x"},
        {"tenant": ""},
        {"period": "2024-13"},
        {"period": "2024"},
        {"from": "2024-02-30"},
        {"from": "2024-02-01", "to": "2024-03-01"},
        {"direction": "sideways"},
        {"direction": "issued"},
        {"kind": "vat_special"},
        {"status": "gone"},
        {"authority_state": "confirmed"},
        {"sort": "colour"},
        {"order": "up"},
        {"order": "asc", "sort": "buyer"},
        {"after": "!!"},
        {"after": ""},
        {"q": "x" * 201},
        {"q": ""},
        {"counterparty": "c" * 201},
    ]
    for params in cases:
        fast = b.get("/api/v1/invoices", params=params)
        declared = b.get("/api/v1/invoices/export", params=params)
        assert fast.status_code == declared.status_code, (params, fast.text, declared.text)
        assert fast.status_code in (200, 422)
        if fast.status_code == 422:
            assert fast.json()["error"]["code"] == "invalid"
