"""Sample generator: realistic invoices of every kind rendered as 数电票 XML (and the older edrm
XML), OFD, PDF and scanned PNG/JPEG, each beside `FILE.expected.json` (its canonical JSON).

Used by `fapiao samples`, the demo, the tests and the benchmarks. Imports the model, synth and
codec; knows nothing of the ledger or the parsers.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fapiao.codec import invoice_to_json
from fapiao.model import Invoice
from fapiao_dev.samples.corpus import invoices, qr_payload

FORMATS = ("xml", "ofd", "pdf", "png")

__all__ = ["FORMATS", "Sample", "generate", "invoices", "qr_payload", "render", "samples"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One rendered invoice: the file's bytes, its extension and the invoice it shows."""

    invoice: Invoice
    fmt: str  # xml / ofd / pdf / png (a scan may be a .jpg)
    ext: str
    data: bytes
    variant: str = ""


def render(inv: Invoice, fmt: str, *, variant: str = "clean", seed: int = 0) -> Sample:
    if fmt == "xml":
        from fapiao_dev.samples.render_xml import invoice_xml

        return Sample(inv, fmt, "xml", invoice_xml(inv))
    if fmt == "ofd":
        from fapiao_dev.samples.render_ofd import invoice_ofd

        return Sample(inv, fmt, "ofd", invoice_ofd(inv))
    if fmt == "pdf":
        from fapiao_dev.samples.render_pdf import invoice_pdf

        return Sample(inv, fmt, "pdf", invoice_pdf(inv))
    if fmt == "png":
        from fapiao_dev.samples.render_pdf import invoice_pdf
        from fapiao_dev.samples.render_scan import scan

        data, ext = scan(invoice_pdf(inv), variant, random.Random(f"{seed}:{inv.number}"))
        return Sample(inv, fmt, ext, data, variant)
    raise ValueError(f"unknown sample format {fmt!r}; known: {', '.join(FORMATS)}")


def samples(count: int, formats: Iterable[str] = FORMATS, seed: int = 1) -> Iterator[Sample]:
    """Every invoice of the corpus in every format asked for; scans cycle through the variants."""
    from fapiao_dev.samples.render_scan import VARIANTS

    fmts = list(formats)
    for n, inv in enumerate(invoices(count, seed)):
        for fmt in fmts:
            yield render(inv, fmt, variant=VARIANTS[n % len(VARIANTS)], seed=seed)


def expected_json(inv: Invoice) -> bytes:
    return (json.dumps(invoice_to_json(inv), ensure_ascii=False, indent=2) + "\n").encode()


def generate(out: Path, count: int, formats: Iterable[str] = FORMATS, seed: int = 1) -> list[Path]:
    """Writes OUT/FORMAT/NNNNN-IDENTITY[-variant].EXT and EXT.expected.json; returns the files."""
    from fapiao_dev.samples.render_scan import VARIANTS

    fmts = list(formats)
    written = []
    for n, inv in enumerate(invoices(count, seed)):
        ident = f"{inv.code}-{inv.number}" if inv.code else inv.number
        expected = expected_json(inv)
        for fmt in fmts:
            sample = render(inv, fmt, variant=VARIANTS[n % len(VARIANTS)], seed=seed)
            folder = out / fmt
            folder.mkdir(parents=True, exist_ok=True)
            suffix = f"-{sample.variant}" if fmt == "png" else ""
            path = folder / f"{n:05d}-{ident}{suffix}.{sample.ext}"
            path.write_bytes(sample.data)
            path.with_name(path.name + ".expected.json").write_bytes(expected)
            written.append(path)
    return written
