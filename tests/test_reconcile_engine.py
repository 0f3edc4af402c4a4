"""The diff engine on small tables of invoices: every category and the awkward cases, on SQLite
(DuckDB) and PostgreSQL (in the database, and through DuckDB: both must agree)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import replace

import pytest

from fapiao.authority.records import record_from_invoice
from fapiao.codec import invoice_to_json
from fapiao.ledger.imports import Incoming, import_batch
from fapiao.ledger.store import Ledger
from fapiao.model import AuthorityRecord, Invoice, Kind, Status
from fapiao.reconcile.engine import reconcile
from fapiao.reconcile.sources import Scope
from fapiao_dev.synth import InvoiceFactory

D = dt.date


def put(ledger: Ledger, invoices: list[Invoice]) -> None:
    batch = []
    for inv in invoices:
        data = json.dumps(invoice_to_json(inv), ensure_ascii=False).encode()
        batch.append(Incoming(f"{inv.number}.json", hashlib.sha256(data).hexdigest(), data, inv))
    outcomes = import_batch(ledger, ledger.tenants(), batch)
    assert {o.status for o in outcomes} == {"imported"}, [o.to_json() for o in outcomes]


def auth(inv: Invoice, **changes: object) -> AuthorityRecord:
    return replace(record_from_invoice(inv), **changes)


def scope_of(ledger: Ledger, f: InvoiceFactory, period: str = "") -> Scope:
    from fapiao.authority.records import period_range

    lo, hi = period_range(period) if period else (None, None)
    return Scope(ledger.tenants()[f.home.tax_id], f.home.tax_id, f.home.name, period, lo, hi)


def backends(ledger: Ledger) -> list[str]:
    return ["duckdb", "database"] if ledger.engine.dialect.name == "postgresql" else ["duckdb"]


@pytest.fixture
def world(ledger: Ledger, factory: InvoiceFactory) -> dict[str, Invoice]:
    """A small ledger, one invoice per case, all dated in June 2024 unless the case is a date."""
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    june = D(2024, 6, 10)
    mk = factory.invoice
    inv = {
        "same": mk(day=june, kind=Kind.DIGITAL_SPECIAL),
        "only_ledger": mk(day=june, issued=True, kind=Kind.DIGITAL_NORMAL),
        "only_authority": mk(day=june, issued=False, kind=Kind.DIGITAL_SPECIAL),
        "cent_off": mk(day=june, kind=Kind.DIGITAL_SPECIAL),
        "paper_void": mk(day=june, kind=Kind.VAT_NORMAL),
        "old_e": mk(day=june, kind=Kind.VAT_ELECTRONIC_NORMAL),
        "twice": mk(day=june, kind=Kind.DIGITAL_NORMAL),
        "blue": mk(day=june, issued=True, kind=Kind.DIGITAL_SPECIAL),
        "blue_alone": mk(day=june, issued=True, kind=Kind.DIGITAL_SPECIAL),
        "june_30": mk(day=D(2024, 6, 30), kind=Kind.DIGITAL_SPECIAL),
        "may_31": mk(day=D(2024, 5, 31), kind=Kind.DIGITAL_SPECIAL),
        "july_1": mk(day=D(2024, 7, 1), kind=Kind.DIGITAL_SPECIAL),
        "july_only_ledger": mk(day=D(2024, 7, 2), kind=Kind.DIGITAL_SPECIAL),
    }
    inv["red"] = factory.red_of(inv["blue"])
    inv["red_alone"] = factory.red_of(inv["blue_alone"])
    # an older code+number invoice whose 8-digit number is also the tail of a 数电票 number
    inv["old_twin"] = replace(inv["old_e"], code=inv["old_e"].code[:-3] + "912")
    put(ledger, [v for k, v in inv.items() if k != "only_authority"])
    return inv


def authority_list(inv: dict[str, Invoice]) -> list[AuthorityRecord]:
    return [
        auth(inv["same"]),
        auth(inv["only_authority"]),
        auth(inv["cent_off"], total=inv["cent_off"].total + 1, tax=inv["cent_off"].tax + 1),
        auth(inv["paper_void"], status=Status.VOID, platform_status="已作废"),
        auth(inv["old_e"]),
        auth(inv["old_twin"]),
        auth(inv["twice"]),
        auth(inv["twice"]),
        auth(inv["blue"], status=Status.NORMAL, platform_status="已红冲-全额"),
        auth(inv["red"]),
        auth(inv["blue_alone"]),  # the platform never saw red_alone
        auth(inv["june_30"], issue_date=D(2024, 7, 1)),
        auth(inv["may_31"], issue_date=D(2024, 6, 1)),
        auth(inv["july_1"]),
    ]


def names(entries: list[dict[str, object]], inv: dict[str, Invoice]) -> set[str]:
    by_id = {(v.code, v.number): k for k, v in inv.items()}
    return {by_id[(str(e["code"]), str(e["number"]))] for e in entries}


def test_every_category_in_june(ledger: Ledger, factory: InvoiceFactory, world: dict) -> None:
    inv = world
    for backend in backends(ledger):
        out = reconcile(
            ledger.engine,
            scope_of(ledger, factory, "2024-06"),
            authority_list(inv),
            backend=backend,
        ).to_json()
        assert names(out["missing_at_authority"], inv) == {"only_ledger", "red_alone"}, backend
        assert names(out["missing_in_ledger"], inv) == {"only_authority"}
        mism = {names([m], inv).pop(): m["fields"] for m in out["mismatched"]}
        assert mism == {
            "cent_off": {
                "tax": {
                    "ledger": _yuan(inv["cent_off"].tax),
                    "authority": _yuan(inv["cent_off"].tax + 1),
                },
                "total": {
                    "ledger": _yuan(inv["cent_off"].total),
                    "authority": _yuan(inv["cent_off"].total + 1),
                },
            },
            "june_30": {"issue_date": {"ledger": "2024-06-30", "authority": "2024-07-01"}},
            "may_31": {"issue_date": {"ledger": "2024-05-31", "authority": "2024-06-01"}},
        }
        status = {
            names([s], inv).pop(): (s["ledger"], s["authority"]) for s in out["status_mismatch"]
        }
        assert status == {"paper_void": ("normal", "void"), "blue_alone": ("red", "normal")}
        assert names(out["duplicates_at_authority"], inv) == {"twice"}
        # in scope: 13 ledger invoices of June (incl. may_31 matched by the authority's date)
        assert out["ledger_count"] == 13
        assert out["authority_count"] == 13  # july_1 is outside; twice counts twice
        assert out["matched"] == 11


def _yuan(fen: int) -> str:
    from fapiao.money import format_fen

    return format_fen(fen)


def test_cent_difference_is_shown_as_yuan_strings(
    ledger: Ledger, factory: InvoiceFactory, world: dict
) -> None:
    inv = world["cent_off"]
    rec = auth(inv, total=inv.total + 1, tax=inv.tax + 1)
    out = reconcile(ledger.engine, scope_of(ledger, factory, "2024-06"), [rec]).to_json()
    (m,) = out["mismatched"]
    assert m["number"] == inv.number
    assert m["fields"]["total"]["ledger"].count(".") == 1
    diff = float(m["fields"]["total"]["authority"]) - float(m["fields"]["total"]["ledger"])
    assert round(diff, 2) == 0.01


def test_no_period_and_agreement(ledger: Ledger, factory: InvoiceFactory, world: dict) -> None:
    inv = world
    everything = [auth(v) for k, v in inv.items() if k != "only_authority"]
    out = reconcile(ledger.engine, scope_of(ledger, factory), everything).to_json()
    assert out["matched"] == out["ledger_count"] == out["authority_count"] == len(everything)
    assert not any(out[c] for c in ("missing_at_authority", "missing_in_ledger", "mismatched",
                                    "status_mismatch", "duplicates_at_authority"))  # fmt: skip


def test_records_of_other_taxpayers_are_ignored(
    ledger: Ledger, factory: InvoiceFactory, world: dict
) -> None:
    stranger = InvoiceFactory(seed=99).invoice(day=D(2024, 6, 3))
    out = reconcile(ledger.engine, scope_of(ledger, factory, "2024-06"), [auth(stranger)]).to_json()
    assert out["missing_in_ledger"] == []
    assert out["authority_count"] == 0


def test_details_for_the_report(ledger: Ledger, factory: InvoiceFactory, world: dict) -> None:
    result = reconcile(ledger.engine, scope_of(ledger, factory, "2024-06"), authority_list(world))
    (only,) = result.entries["missing_at_authority"][:1]
    missing = {e.number: e for e in result.entries["missing_at_authority"]}
    e = missing[world["only_ledger"].number]
    assert e.direction == "issued"
    assert e.counterparty_name == world["only_ledger"].buyer.name
    assert e.total == world["only_ledger"].total
    got = result.entries["missing_in_ledger"][0]
    assert result.record(got) == auth(world["only_authority"])
    assert got.counterparty_name == world["only_authority"].seller.name
    assert only.issue_date is not None


def test_red_invoice_after_the_period(ledger: Ledger, factory: InvoiceFactory) -> None:
    """A blue invoice of June reversed by a red one of July: June agrees with a platform that writes
    已红冲 on the blue row; the red invoice is July's business."""
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    blue = factory.invoice(day=D(2024, 6, 20), issued=True, kind=Kind.DIGITAL_SPECIAL)
    red = replace(factory.red_of(blue), issue_date=D(2024, 7, 3))
    put(ledger, [blue, red])
    listed = [auth(blue, platform_status="已红冲-全额"), auth(red)]
    for backend in backends(ledger):
        june = reconcile(
            ledger.engine, scope_of(ledger, factory, "2024-06"), listed, backend=backend
        ).to_json()
        assert (june["ledger_count"], june["authority_count"], june["matched"]) == (1, 1, 1)
        assert june["status_mismatch"] == [] and june["missing_in_ledger"] == []
        # the platform never heard of the red invoice: July names it, June names the blue one
        alone = [auth(blue)]
        june = reconcile(
            ledger.engine, scope_of(ledger, factory, "2024-06"), alone, backend=backend
        ).to_json()
        assert june["status_mismatch"] == [
            {"code": "", "number": blue.number, "ledger": "red", "authority": "normal"}
        ]
        july = reconcile(
            ledger.engine, scope_of(ledger, factory, "2024-07"), alone, backend=backend
        ).to_json()
        assert july["missing_at_authority"] == [{"code": "", "number": red.number}]


def test_the_ledger_read_ahead_gives_the_same_findings(
    ledger: Ledger, factory: InvoiceFactory, world: dict
) -> None:
    """`fapiao reconcile` reads the ledger's side while it reads the export file; the result is
    the one read after it."""
    from fapiao.reconcile.engine import read_ahead

    scope = scope_of(ledger, factory, "2024-06")
    plain = reconcile(ledger.engine, scope, authority_list(world), backend="duckdb")
    with read_ahead(ledger.engine, scope, backend="duckdb") as ahead:
        assert ahead is not None
        early = reconcile(
            ledger.engine, scope, authority_list(world), backend="duckdb", ahead=ahead
        )
    assert early.to_json() == plain.to_json()
    assert names(early.to_json()["missing_in_ledger"], world) == {"only_authority"}


def logged_ledger_reads(monkeypatch, log: list[str]) -> None:
    """The engine's reading of the ledger's side, logged as "read" when it starts and "read
    ended" when it has, a third of a second apart."""
    import time

    from fapiao.reconcile import engine

    read = engine._read_ledger

    def logged(*args: object) -> object:
        log.append("read")
        time.sleep(0.3)
        out = read(*args)  # type: ignore[arg-type]
        log.append("read ended")
        return out

    monkeypatch.setattr(engine, "_read_ledger", logged)


def test_a_list_that_cannot_be_read_waits_for_the_ledger_read_ahead(
    ledger: Ledger, factory: InvoiceFactory, world: dict, monkeypatch, tmp_path
) -> None:
    """The driver's SQLite and the ledger's own do not see each other's locks: nothing may use
    the ledger while the driver reads it, so a run that fails while reading the list ends only
    after the ledger's reading has."""
    from fapiao.reconcile import run as reconcile_run

    log: list[str] = []
    logged_ledger_reads(monkeypatch, log)
    with pytest.raises(reconcile_run.UsageError):
        reconcile_run.run(
            ledger, tenant=None, period="2024-06", authority=str(tmp_path / "无此文件.csv"),
            backend="duckdb",
        )  # fmt: skip
    assert log == ["read", "read ended"]


def test_the_records_findings_name_are_taken_from_an_export_at_once(
    ledger: Ledger, factory: InvoiceFactory, world: dict
) -> None:
    """Each finding's record of the list, as the actions and reports show it: the same record
    as reading its row alone, and all of them read in one pass at the first asking."""
    from fapiao.authority.export_table import table_of
    from fapiao.reconcile.sources import AuthorityRows

    rows = AuthorityRows(table_of(authority_list(world)))
    result = reconcile(ledger.engine, scope_of(ledger, factory, "2024-06"), rows)
    named = [e for e in result.all_entries() if e.authority_rn is not None]
    assert len(named) >= 5 and result.named is None
    for e in named:
        record = result.record(e)
        assert record == rows[e.authority_rn] and record.identity.key == e.key
    assert result.named is not None and set(result.named) == {e.authority_rn for e in named}


def test_from_the_platform_the_ledger_is_read_after_its_listing(
    ledger: Ledger, factory: InvoiceFactory, world: dict, monkeypatch
) -> None:
    """An export file is read beside the ledger (seconds); the platform's listing may take
    minutes, so the ledger compared with it is read after it, as it stands then."""
    import time

    from fapiao.authority.http import HttpConnector
    from fapiao.reconcile import run as reconcile_run

    log: list[str] = []

    def listed(self, tax_id, date_from, date_to):  # type: ignore[no-untyped-def]
        time.sleep(0.1)  # a read started ahead would be logged first
        log.append("listing")
        return iter(authority_list(world))

    monkeypatch.setattr(HttpConnector, "list", listed)
    logged_ledger_reads(monkeypatch, log)
    outcome = reconcile_run.run(
        ledger, tenant=None, period="2024-06", authority="http://127.0.0.1:9/", backend="duckdb",
        file_actions=False,
    )  # fmt: skip
    assert log == ["listing", "read", "read ended"]
    assert names(outcome.result.to_json()["missing_in_ledger"], world) == {"only_authority"}
