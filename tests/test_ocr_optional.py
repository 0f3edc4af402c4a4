"""Without the `ocr` extra (numpy, OpenCV, RapidOCR, onnxruntime not importable) an image or a
text-less PDF is quarantined with `ocr_unavailable` and the rest of the run imports, by the CLI and
through the web upload."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "samples"
XML = SAMPLES / "xml" / "fapiao-print-anxie-25322000000365404822.xml"
OFD = SAMPLES / "ofd" / "ofdrw-fapiao-shili.ofd"
BUYER_XML = "9132020013590404XW"


def _mix(folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    shutil.copy(XML, folder / "good.xml")
    shutil.copy(OFD, folder / "good.ofd")
    Image.new("RGB", (800, 500), "white").save(folder / "scan.png")
    Image.new("RGB", (800, 500), "white").save(folder / "scan.pdf")  # a page with no text layer
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _ofd_buyer() -> str:
    expected = json.loads(OFD.with_name(OFD.name + ".expected.json").read_text())
    return expected["buyer"]["tax_id"]


def _without_ocr(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"import tests.no_ocr\n{code}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


CLI = "import sys\nfrom fapiao.cli import main\nsys.argv = ['fapiao', *sys.argv[1:]]\nmain()"


def test_the_blocker_blocks() -> None:
    proc = _without_ocr("import numpy")
    assert proc.returncode == 1 and "blocked: no ocr extra" in proc.stderr


def test_import_quarantines_what_needs_ocr_and_imports_the_rest(tmp_path: Path) -> None:
    _mix(tmp_path / "in")
    db = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    for tax_id in (BUYER_XML, _ofd_buyer()):
        run_cli("--db", db, "tenant", "add", "--tax-id", tax_id, "--name", "本公司", check=True)
    proc = _without_ocr(CLI, "--db", db, "import", str(tmp_path / "in"), "--json")
    assert proc.returncode == 1, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert sorted(Path(o["file"]).name for o in out["imported"]) == ["good.ofd", "good.xml"]
    rejected = {Path(r["file"]).name: [f["code"] for f in r["findings"]] for r in out["rejected"]}
    assert rejected == {"scan.png": ["ocr_unavailable"], "scan.pdf": ["ocr_unavailable"]}
    listing = json.loads(run_cli("--db", db, "list", "--json", check=True).stdout)
    assert len(listing) == 2


WEB = """
import json, sys
from pathlib import Path
from tests.test_web_support import build_site
site, server = build_site(sys.argv[1], Path(sys.argv[2]), per_tenant=1)
for tax_id in sys.argv[3:]:
    site.ledger.add_tenant(tax_id=tax_id, name="本公司")
b = site.browser()
b.login("admin_a")
token = b.csrf("/upload")
out = {}
for path in sorted(Path(sys.argv[2], "in").iterdir()):
    r = b.post("/upload/file", files={"file": (path.name, path.read_bytes())},
               headers={"X-CSRF-Token": token})
    out[path.name] = {"status": r.status_code, "body": r.json() if r.status_code == 200 else r.text}
server.close()
sys.stdout.write(json.dumps(out))
"""


def test_web_upload_answers_200_and_lists_the_rejects(tmp_path: Path) -> None:
    _mix(tmp_path / "in")
    db = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    proc = _without_ocr(WEB, db, str(tmp_path), BUYER_XML, _ofd_buyer())
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert {name: r["status"] for name, r in out.items()} == dict.fromkeys(out, 200)
    assert len(out["good.xml"]["body"]["imported"]) == 1
    assert len(out["good.ofd"]["body"]["imported"]) == 1
    for name in ("scan.png", "scan.pdf"):
        (reject,) = out[name]["body"]["rejected"]
        assert [f["code"] for f in reject["findings"]] == ["ocr_unavailable"]
        assert "OCR" in reject["findings"][0]["message"]
