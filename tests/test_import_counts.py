"""An import counts each outcome once, by status, and each reject by its error codes, in the
process's metrics and in the operation log (`invoice.import` lines), a batch at a time; its
summary keeps every reject, and the other outcomes only when asked to (`keep`)."""

from __future__ import annotations

import io
import json

import pytest

from fapiao.ingest import import_paths
from fapiao.telemetry import logs
from fapiao.telemetry.counters import REGISTRY
from tests.conftest import write_invoice


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("keep", [True, False])
def test_each_outcome_is_counted_and_logged_once(ledger, factory, tmp_path, keep):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    folder = tmp_path / "in"
    first, second = factory.invoice(), factory.invoice()
    write_invoice(folder / "a.json", first)
    write_invoice(folder / "b.json", second)
    write_invoice(folder / "c.json", first)  # the same invoice again
    (folder / "d.txt").write_text("meeting notes", encoding="utf-8")
    (folder / "e.txt").write_text("more notes", encoding="utf-8")
    before = {
        status: counted("fapiao_imports_total", outcome=status)
        for status in ("imported", "duplicate", "rejected")
    }
    rejects = counted("fapiao_rejects_total", code="unsupported_format")
    out = io.StringIO()
    logs.configure(stream=out, default_level="info", force=True)
    try:
        summary = import_paths(ledger, [folder], batch_size=2, keep=keep)
    finally:
        logs.configure(force=True)
    assert summary.counts == {"imported": 2, "duplicate": 1, "rejected": 2}
    # rejects are kept whatever `keep` says (the review queue names them); the rest only if kept
    assert [o.file.rsplit("/", 1)[1] for o in summary.rejected] == ["d.txt", "e.txt"]
    assert len(summary.imported) == (2 if keep else 0)
    after = {status: counted("fapiao_imports_total", outcome=status) for status in before}
    assert {s: after[s] - before[s] for s in before} == summary.counts
    assert counted("fapiao_rejects_total", code="unsupported_format") - rejects == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    imports = [(line["outcome"], line["file"].rsplit("/", 1)[1]) for line in lines
               if line["event"] == "invoice.import"]  # fmt: skip
    assert sorted(imports) == [
        ("duplicate", "c.json"),
        ("imported", "a.json"),
        ("imported", "b.json"),
        ("rejected", "d.txt"),
        ("rejected", "e.txt"),
    ]
