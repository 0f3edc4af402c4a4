"""What a `fapiao` process pays before its work: numpy (and its BLAS threads) only where an image
is decoded, and then without threads spinning on the other core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from fapiao.model import Kind
from fapiao.parse import pdf, pdf_qr
from fapiao_dev.samples import invoices, qr_payload
from fapiao_dev.samples.render_pdf import invoice_pdf
from tests.conftest import write_invoice

# `fapiao <args>` run in this child's own interpreter, then which heavy modules it had loaded
LOADED = """
import json, sys
from fapiao.cli import main
sys.argv = ["fapiao", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
loaded = {m: m in sys.modules for m in ("numpy", "PIL.Image", "pypdfium2")}
print(json.dumps({"exit": code, **loaded}))
"""


def _loaded_by(tmp_path: Path, *args: str) -> dict[str, object]:
    """Which modules `fapiao <args>` loaded, and its exit code (`exit`), which must be 0."""
    env = {**os.environ, "FAPIAO_DB": str(tmp_path / "ledger.db")}
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True, env=env
    )
    loaded: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["exit"] == 0, done.stdout + done.stderr
    return loaded


def test_importing_json_files_never_loads_numpy(tmp_path: Path) -> None:
    inv = invoices(1, seed=5)[0]
    write_invoice(tmp_path / "in" / "a.json", inv)
    _loaded_by(tmp_path, "tenant", "add", "--tax-id", inv.seller.tax_id, "--name", "卖方")
    loaded = _loaded_by(tmp_path, "import", str(tmp_path / "in"))  # (exit 0: imported)
    assert loaded["pypdfium2"]  # the PDF reader is there, ready …
    assert not loaded["numpy"]  # … but nothing decoded an image


PARSED = """
import sys
from fapiao.parse import pdf
before = "numpy" in sys.modules
[parsed] = pdf.parse(open(sys.argv[1], "rb").read())
print(before, "numpy" in sys.modules, parsed.fields["number"].source)
"""


def test_numpy_loads_when_a_pdf_s_qr_is_decoded(tmp_path: Path) -> None:
    inv = invoices(1, seed=6)[0]
    path = tmp_path / "a.pdf"
    path.write_bytes(invoice_pdf(inv))
    out = subprocess.run(
        [sys.executable, "-c", PARSED, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[:2] == ["False", "True"]
    assert out[2] == "qr"  # the number as the QR gave it


def test_a_pdf_s_qr_is_read_without_numpy_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy comes with the `ocr` extra: without it the QR image goes through PIL, and a QR that
    disagrees with the text is still found."""
    monkeypatch.setattr(pdf_qr, "_numpy", lambda: None)
    inv = next(i for i in invoices(24, seed=21) if i.kind is Kind.DIGITAL_SPECIAL)
    forged = qr_payload(replace(inv, total=inv.total + 10000))
    [parsed] = pdf.parse(invoice_pdf(inv, qr=forged))
    assert [f.field for f in parsed.findings if f.code == "source_mismatch"] == ["total"]


THREADS = """
import os
import fapiao, numpy
print(os.environ["OPENBLAS_NUM_THREADS"], len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_numpy_loaded_after_fapiao_starts_no_blas_threads() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", THREADS], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert out == ["1", "1"]  # the setting, and the interpreter's own thread alone


def test_a_blas_thread_count_given_is_kept() -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", THREADS], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert out[0] == "2"
