"""A test corpus not shaped like the reader: invoices drawn the way issuing software draws them
(see `older` and `digital`), and phone photos of them (`photo`), each with its expected
canonical JSON and QR payload. A development tool for tests and bench/, outside the package.

    python -m tests.corpus OUT [--count 48] [--photos 8] [--seed 1]
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fapiao.codec import invoice_to_json
from tests.corpus.content import TABLES, Case, cases
from tests.corpus.printed import qr_payload

__all__ = ["TABLES", "Generated", "generate", "render", "write"]


@dataclass(frozen=True)
class Generated:
    """One generated file: its bytes, the fields it shows, and how it was made."""

    name: str
    fmt: str  # "pdf" or "photo"
    case: Case
    data: bytes
    expected: dict[str, Any]
    qr: str
    pages: int
    details: dict[str, Any]

    @property
    def label(self) -> str:
        return self.case.label


def _pdf(case: Case, payload: str, rng: random.Random, first_page_only: bool = False) -> bytes:
    if case.layout == "older":
        from tests.corpus.older import older_pdf

        return older_pdf(case, payload, rng, first_page_only=first_page_only)
    from tests.corpus.digital import digital_pdf

    return digital_pdf(case, payload, rng, first_page_only=first_page_only)


def _shown(case: Case) -> dict[str, Any]:
    """The expected JSON of what a photo of the first page shows: a 销货清单 invoice shows its
    summary line."""
    if not case.listed:
        return invoice_to_json(case.invoice)
    from tests.corpus.older import summary_row

    return invoice_to_json(replace(case.invoice, items=(summary_row(case).item,)))


def render(n: int, case: Case, seed: int, photos: bool = False) -> list[Generated]:
    """Case `n` as a PDF and, when asked and it has one page (or a 销货清单), a photo of it."""
    from tests.corpus.digital import pages_of
    from tests.corpus.photo import photo

    rng = random.Random(f"{seed}:{n}")
    payload = qr_payload(case.invoice, rng)
    data = _pdf(case, payload, rng)
    pages = 1 + case.listed if case.layout == "older" else len(pages_of(case))
    expected = invoice_to_json(case.invoice)
    out = [Generated(f"{n:05d}-{case.label}.pdf", "pdf", case, data, expected, payload, pages, {})]
    if photos and (pages == 1 or case.listed):
        jpeg, details = photo(_pdf(case, payload, rng, first_page_only=True), rng)
        name = f"{n:05d}-{case.label}-photo.jpg"
        out.append(Generated(name, "photo", case, jpeg, _shown(case), payload, 1, details))
    return out


def generate(count: int, seed: int = 1, photos: int = 0) -> Iterator[Generated]:
    """`count` PDFs cycling through layouts × item-table kinds, and `photos` photos of
    single-page ones (every third case when there are enough, to vary the kinds)."""
    made = 0
    stride = 3 if count >= 3 * photos else 1
    for n, case in enumerate(cases(count, seed)):
        for g in render(n, case, seed, photos=made < photos and n % stride == 0):
            made += g.fmt == "photo"
            yield g


def write(out: Path, generated: Iterator[Generated]) -> list[Path]:
    """OUT/pdf/NAME and OUT/photo/NAME, each beside NAME.expected.json."""
    written = []
    for g in generated:
        folder = out / g.fmt
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / g.name
        path.write_bytes(g.data)
        doc = {**g.expected, "qr": g.qr, "table": g.case.table, "layout": g.case.layout}
        doc |= {"pages": g.pages, **({"photo": g.details} if g.details else {})}
        text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
        path.with_name(g.name + ".expected.json").write_text(text, encoding="utf-8")
        written.append(path)
    return written
