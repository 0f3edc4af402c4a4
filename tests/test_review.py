"""The review queue from the command line, on SQLite and PostgreSQL: a rejected file waits with
what was read; accept with corrections records it through the import path with its original
file; a still-failing accept changes nothing; reject needs a reason; the same file rejected again
makes no second item; the audit chain holds and names who changed which field from what to what."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from fapiao.ledger import schema
from fapiao.ledger.db import open_engine
from tests.conftest import run_cli
from tests.review_inputs import digital, missing_field_json, wrong_tax_pdf


def cli(db: str, *args: str, **kw: Any) -> Any:
    """The command line as the clerk wang, unless a test names someone else."""
    env = {"FAPIAO_USER": "wang", **kw.pop("env", {})}
    return run_cli("--db", db, *args, env=env, **kw)


def as_json(db: str, *args: str) -> Any:
    proc = cli(db, *args, "--json")
    return json.loads(proc.stdout)


@pytest.fixture
def cli_db(db_url: str, factory: Any) -> str:
    cli(
        db_url,
        "tenant",
        "add",
        "--tax-id",
        factory.home.tax_id,
        "--name",
        factory.home.name,
        check=True,
        env={"FAPIAO_USER": ""},
    )
    people(db_url)
    return db_url


def people(db_url: str) -> None:
    """The clerks who review; the first is added before any user exists, as anyone may."""
    for name in ("wang", "li"):
        cli(db_url, "user", "add", name, "--role", "accountant", check=True,
            env={"FAPIAO_PASSWORD": "a long passphrase 1", "FAPIAO_USER": "" if name == "wang" else "wang"})  # fmt: skip


def counts(db: str) -> tuple[int, int, int]:
    engine = open_engine(db)
    try:
        with engine.connect() as conn:
            n = lambda t: conn.scalar(select(func.count()).select_from(t))  # noqa: E731
            return n(schema.invoices), n(schema.quarantine), n(schema.events)
    finally:
        engine.dispose()


def events_of(db: str, action: str) -> list[Any]:
    engine = open_engine(db)
    try:
        with engine.connect() as conn:
            ev = schema.events
            return list(conn.execute(select(ev).where(ev.c.action == action).order_by(ev.c.seq)))
    finally:
        engine.dispose()


def test_a_pdf_that_fails_waits_and_is_accepted_with_a_correction(
    cli_db: str, factory: Any, tmp_path: Path
) -> None:
    inv = digital(factory)
    pdf, right_tax = wrong_tax_pdf(tmp_path / "in" / "发票.pdf", inv)
    first = cli(cli_db, "import", str(pdf), "--json")
    assert first.returncode == 1
    rejected = json.loads(first.stdout)["rejected"]
    assert {f["code"] for f in rejected[0]["findings"]} >= {"sum_mismatch"}
    item_id = rejected[0]["review"]

    items = as_json(cli_db, "review", "list")
    assert [i["id"] for i in items] == [item_id]
    item = items[0]
    assert item["file"] == str(pdf) and item["state"] == "open"
    assert item["fields"]["number"] == {"value": inv.number, "source": "qr", "confidence": 1.0}
    assert item["fields"]["tax"]["value"] != right_tax  # as printed, one yuan too high
    assert item["fields"]["seller.name"]["value"] == inv.seller.name
    assert "sum_mismatch" in {f["code"] for f in item["findings"]}

    # the same file again (another run over the same folder): no second item
    again = json.loads(cli(cli_db, "import", str(pdf), "--json").stdout)
    assert again["rejected"][0]["review"] == item_id
    assert len(as_json(cli_db, "review", "list")) == 1

    # accepting it as read is refused with the findings, and nothing changes
    before = counts(cli_db)
    refused = cli(cli_db, "review", "accept", item_id, "--json")
    assert refused.returncode == 1
    body = json.loads(refused.stdout)
    assert body["ok"] is False and "sum_mismatch" in {f["code"] for f in body["findings"]}
    assert counts(cli_db) == before
    assert as_json(cli_db, "review", "show", item_id)["state"] == "open"

    done = cli(
        cli_db, "review", "accept", item_id, "--set", f"tax={right_tax}", "--as", "wang", "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert [o["status"] for o in result["outcomes"]] == ["imported"]
    invoice_id = result["outcomes"][0]["id"]

    shown = as_json(cli_db, "review", "show", item_id)
    assert shown["state"] == "accepted" and shown["resolved_by"] == "cli:wang"
    assert shown["invoice_ids"] == [invoice_id]
    assert shown["fields"]["tax"] == {"value": right_tax, "source": "user", "confidence": 1.0}
    assert shown["changes"] == [
        {"field": "tax", "from": item["fields"]["tax"]["value"], "to": right_tax, "source": "user"}
    ]
    text = cli(cli_db, "review", "show", item_id).stdout
    assert f"tax = {right_tax} [user]" in text

    recorded = as_json(cli_db, "show", invoice_id)
    assert recorded["number"] == inv.number and recorded["tax"] == right_tax
    assert recorded["original_file"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert recorded["authority_state"] == "queued"  # an outbox entry, as an import makes
    accepted = events_of(cli_db, "review.accepted")
    assert len(accepted) == 1 and accepted[0].actor == "cli:wang"
    payload = json.loads(accepted[0].payload)
    assert payload["changes"][0]["from"] == item["fields"]["tax"]["value"]
    assert payload["changes"][0]["to"] == right_tax
    assert [e.actor for e in events_of(cli_db, "invoice.imported")] == ["cli:wang"]
    assert cli(cli_db, "audit", "verify").returncode == 0

    # once accepted, the same file is a duplicate of what was recorded from it
    third = json.loads(cli(cli_db, "import", str(pdf), "--json").stdout)
    assert third["rejected"] == [] and third["duplicates"][0]["id"] == invoice_id
    # and the item cannot be accepted twice
    twice = cli(cli_db, "review", "accept", item_id, "--json")
    assert (
        twice.returncode == 1 and json.loads(twice.stdout)["findings"][0]["code"] == "review_closed"
    )


def test_reject_needs_a_reason_and_keeps_the_file(
    cli_db: str, factory: Any, tmp_path: Path
) -> None:
    path = missing_field_json(tmp_path / "缺合计.json", digital(factory), "total")
    cli(cli_db, "import", str(path))
    (item,) = as_json(cli_db, "review", "list")
    assert (
        item["findings"][0]["code"] == "field_missing" and item["findings"][0]["field"] == "total"
    )
    assert item["fields"]["amount"]["source"] == "json"  # what the document holds, shown
    assert cli(cli_db, "review", "reject", item["id"]).returncode == 2  # --reason is required
    blank = cli(cli_db, "review", "reject", item["id"], "--reason", "  ", "--json")
    assert (
        blank.returncode == 1
        and json.loads(blank.stdout)["findings"][0]["code"] == "reason_missing"
    )
    cli(
        cli_db,
        "user",
        "add",
        "li",
        "--role",
        "accountant",
        env={"FAPIAO_PASSWORD": "pw li 12345678"},
    )
    done = cli(
        cli_db,
        "review",
        "reject",
        item["id"],
        "--reason",
        "对方作废重开",
        env={"FAPIAO_USER": "li"},
    )
    assert done.returncode == 0, done.stderr
    shown = as_json(cli_db, "review", "show", item["id"])
    assert shown["state"] == "rejected" and shown["reason"] == "对方作废重开"
    assert shown["resolved_by"] == "cli:li"
    assert as_json(cli_db, "review", "list") == []
    assert [i["id"] for i in as_json(cli_db, "review", "list", "--state", "all")] == [item["id"]]
    # re-imported: still rejected, no second item; accepting a rejected item is refused
    again = json.loads(cli(cli_db, "import", str(path), "--json").stdout)
    assert again["rejected"][0]["review"] == item["id"]
    assert counts(cli_db)[1] == 1
    assert cli(cli_db, "review", "accept", item["id"], "--set", "total=1.00").returncode == 1
    (ev,) = events_of(cli_db, "review.rejected")
    assert ev.actor == "cli:li" and json.loads(ev.payload)["reason"] == "对方作废重开"
    assert cli(cli_db, "audit", "verify").returncode == 0


def test_still_missing_after_a_correction_is_refused(
    cli_db: str, factory: Any, tmp_path: Path
) -> None:
    inv = digital(factory)
    path = missing_field_json(tmp_path / "a.json", inv, "total")
    cli(cli_db, "import", str(path))
    (item,) = as_json(cli_db, "review", "list")
    wrong = cli(cli_db, "review", "accept", item["id"], "--set", "total=1.00", "--json")
    assert wrong.returncode == 1
    assert "sum_mismatch" in {f["code"] for f in json.loads(wrong.stdout)["findings"]}
    assert cli(cli_db, "review", "accept", item["id"], "--set", "nonsense=1").returncode == 2
    assert cli(cli_db, "review", "accept", item["id"], "--set", "total").returncode == 2
    assert counts(cli_db)[0] == 0
    from fapiao.money import format_fen

    ok = cli(cli_db, "review", "accept", item["id"], "--set", f"total={format_fen(inv.total)}")
    assert ok.returncode == 0, ok.stderr
    listed = json.loads(cli(cli_db, "list", "--json").stdout)
    assert [r["number"] for r in listed] == [inv.number]
    assert cli(cli_db, "review", "show", "999999").returncode == 1


def test_a_file_naming_no_tenant_is_accepted_once_the_tenant_exists(
    db_url: str, factory: Any, tmp_path: Path
) -> None:
    people(db_url)
    inv = digital(factory)
    other = next(o for o in factory.others if o.tax_id != inv.buyer.tax_id)
    cli(db_url, "tenant", "add", "--tax-id", other.tax_id, "--name", other.name, check=True)
    from tests.conftest import write_invoice

    path = write_invoice(tmp_path / "x.json", inv)
    cli(db_url, "import", str(path))
    (item,) = as_json(db_url, "review", "list")
    assert item["findings"][0]["code"] == "no_tenant"
    assert item["fields"]["number"]["value"] == inv.number  # a complete invoice: every field shown
    refused = json.loads(cli(db_url, "review", "accept", item["id"], "--json").stdout)
    assert refused["findings"][0]["code"] == "no_tenant"
    cli(
        db_url,
        "tenant",
        "add",
        "--tax-id",
        factory.home.tax_id,
        "--name",
        factory.home.name,
        check=True,
    )
    assert cli(db_url, "review", "accept", item["id"]).returncode == 0


def test_rows_quarantined_before_the_queue_existed_still_list(db_url: str, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(schema.blobs).values(sha256="a" * 64, size=3, data=b"old", created_at="x")
            )
            # only the columns migration 0001 had: the rest take their defaults
            conn.exec_driver_sql(
                "INSERT INTO quarantine (id, file_name, sha256, findings, created_at) "
                f"VALUES (900, 'old.bin', '{'a' * 64}', "
                """'[{"code": "unreadable", "field": "", "severity": "error", "message": "m", "message_en": "m"}]', 'x')"""
            )
    finally:
        engine.dispose()
    (item,) = as_json(db_url, "review", "list")
    assert item["id"] == "900" and item["state"] == "open" and item["fields"] == {}
    assert item["findings"][0]["code"] == "unreadable"


def test_the_migration_keeps_rows_quarantined_before_it(empty_db_url: str) -> None:
    """A ledger at every capability's head but the review queue's, with a quarantined file, is
    upgraded on open: the row becomes an open item and a re-import of its file makes no second."""
    from alembic import command
    from sqlalchemy import create_engine

    from fapiao.ledger.db import _alembic_config, head_revisions, to_url

    db_url = empty_db_url
    engine = create_engine(to_url(db_url))
    try:
        cfg = _alembic_config(engine)
        for head in sorted(head_revisions() - {"0009r"}):
            command.upgrade(cfg, head)
        sha = "b" * 64
        with engine.begin() as conn:
            conn.execute(insert(schema.blobs).values(sha256=sha, size=1, data=b"{", created_at="x"))
            conn.execute(
                text(
                    "INSERT INTO quarantine (id, file_name, sha256, findings, created_at)"
                    " VALUES (77, 'old.json', :sha, '[]', 'x')"
                ),
                {"sha": sha},
            )
    finally:
        engine.dispose()
    (item,) = as_json(db_url, "review", "list")  # opening the ledger runs migration 0009r
    assert item["id"] == "77" and item["state"] == "open" and item["file"] == "old.json"
    assert cli(db_url, "review", "reject", "77", "--reason", "旧文件").returncode == 0


def test_each_reject_of_a_json_array_is_its_own_item(
    ledger: Any, factory: Any, tmp_path: Path
) -> None:
    from fapiao.codec import invoice_to_json
    from fapiao.ingest import import_paths
    from fapiao.review.queue import list_items

    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    docs = [invoice_to_json(digital(factory)) for _ in range(4)]
    for doc in docs[1:]:
        del doc["total"]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    for _ in range(2):
        summary = import_paths(ledger, [path])
        assert summary.counts.get("rejected") == 3
    items = list_items(ledger.engine)
    assert [i.label for i in items] == ["[1]", "[2]", "[3]"]
    assert [i.reads["number"].value for i in items] == [d["number"] for d in docs[1:]]
    assert all(i.file == f"{path}{i.label}" for i in items)


def test_twins_from_old_re_runs_are_one_item_resolved_together(db_url: str) -> None:
    """Before the queue, each re-run quarantined the same file again (1,152 rows for 440 files):
    those rows show as one item, and rejecting it rejects them all."""
    engine = open_engine(db_url)
    sha = "c" * 64
    try:
        with engine.begin() as conn:
            conn.execute(insert(schema.blobs).values(sha256=sha, size=1, data=b"{", created_at="x"))
            for qid, name in ((10, "a.json"), (11, "a.json"), (12, "a.json"), (13, "copy.json")):
                conn.execute(
                    text(
                        "INSERT INTO quarantine (id, file_name, sha256, findings, created_at)"
                        " VALUES (:id, :name, :sha, '[]', 'x')"
                    ),
                    {"id": qid, "name": name, "sha": sha},
                )
    finally:
        engine.dispose()
    assert [i["id"] for i in as_json(db_url, "review", "list")] == ["10", "13"]
    assert cli(db_url, "review", "show", "11").returncode == 1  # a twin is not an item of its own
    assert cli(db_url, "review", "reject", "10", "--reason", "不是发票").returncode == 0
    assert [i["id"] for i in as_json(db_url, "review", "list")] == ["13"]
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(schema.quarantine.c.id, schema.quarantine.c.state))
            states = {r.id: r.state for r in rows}
    finally:
        engine.dispose()
    assert states == {10: "rejected", 11: "rejected", 12: "rejected", 13: "open"}
    (ev,) = events_of(db_url, "review.rejected")
    assert json.loads(ev.payload)["twins"] == [11, 12]
