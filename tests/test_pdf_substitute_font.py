"""pdfium's substitute Chinese font stays loaded between PDFs (`fapiao.parse.pdf_fonts`): an
invoice naming a font it does not embed (STSong-Light, as the older issuing software writes it)
no longer makes the parser read the machine's font file again for each file. Measured by the
bytes a parser process reads (/proc/self/io), in processes of their own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fapiao.parse import pdf_fonts

ROOT = Path(__file__).parent.parent

CHILD = """
import json, sys
from pathlib import Path
from fapiao.parse import parse_bytes, pdf_fonts
if sys.argv[2] == "without":
    pdf_fonts.hold = lambda: None  # as before: each document loads its own fonts
data = Path(sys.argv[1]).read_bytes()

def read_bytes():
    for line in open("/proc/self/io"):
        if line.startswith("rchar:"):
            return int(line.split()[1])

first = parse_bytes(data)  # the first file loads the font in either case
before = read_bytes()
for n in range(5):
    again = parse_bytes(data + b"%% copy " + str(n).encode())
print(json.dumps({"per_file": (read_bytes() - before) / 5,
                  "number": again[0].invoice.number if again[0].invoice else None}))
"""


def _older_invoice(tmp: Path) -> Path:
    from tests.corpus import generate

    for g in generate(40, seed=11):
        if g.fmt == "pdf" and "older" in g.name and b"/STSong-Light" in g.data:
            path = tmp / "older.pdf"
            path.write_bytes(g.data)
            return path
    raise AssertionError("the corpus drew no older invoice in STSong-Light")


def _run(pdf: Path, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(pdf), mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout)


def test_the_substitute_font_is_read_once_not_once_a_file(tmp_path: Path) -> None:
    pdf = _older_invoice(tmp_path)
    without, held = _run(pdf, "without"), _run(pdf, "held")
    if without["per_file"] < 1_000_000:
        pytest.skip("no Chinese font on this machine for pdfium to substitute (nothing re-read)")
    assert held["per_file"] < 100_000, held  # the PDF itself, no font file
    assert held["number"] == without["number"] and held["number"]  # read the same


def test_the_anchor_document_shows_its_text_in_each_font() -> None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf_fonts.anchor_pdf())
    page = doc[0]
    text = page.get_textpage()
    assert text.get_text_range().split() == ["中"] * len(pdf_fonts.FONTS)
    text.close()
    page.close()
    doc.close()
