"""A generated corpus through the real parsers: 100 % field-exact for XML, OFD and PDF, and at
least 97 % of fields for scans (per field reported on failure). The full-size run is bench/parse.py."""

from __future__ import annotations

import pytest

from fapiao.codec import invoice_to_json
from fapiao.parse import parse_bytes
from fapiao_dev.samples import invoices, render
from fapiao_dev.samples.render_scan import VARIANTS
from fapiao_dev.samples.score import Score

CORPUS = invoices(30, seed=1234)


def _score(fmt: str, invs: list, variants: tuple[str, ...] = ("clean",)) -> Score:  # type: ignore[type-arg]
    score = Score()
    for n, inv in enumerate(invs):
        sample = render(inv, fmt, variant=variants[n % len(variants)], seed=7)
        results = parse_bytes(sample.data)
        assert len(results) == 1
        parsed = results[0]
        got = invoice_to_json(parsed.invoice) if parsed.invoice else None
        score.add(
            f"{inv.number}{sample.variant and '-' + sample.variant}", invoice_to_json(inv), got
        )
    return score


@pytest.mark.parametrize("fmt", ["xml", "ofd", "pdf"])
def test_structured_formats_are_field_exact(fmt: str) -> None:
    score = _score(fmt, CORPUS)
    assert score.wrong == []
    assert sum(score.total.values()) > 30 * 16


@pytest.mark.slow
def test_scans_are_at_least_97_percent_field_exact() -> None:
    sample = [CORPUS[n] for n in (0, 2, 4, 7, 10, 17)]  # every kind; OCR is the slow part
    score = _score("png", sample, VARIANTS)
    report = {name: f"{value:.0%}" for name, value in score.per_field().items()}
    assert score.accuracy >= 0.97, (report, score.wrong)
    assert score.per_field()["number"] == 1.0  # read from the QR, exactly
