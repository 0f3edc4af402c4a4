"""`fapiao archive export` writes a package an auditor checks alone; `archive verify` finds a file
changed, added, removed or swapped, and a manifest re-signed with another key."""

from __future__ import annotations

import base64
import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fapiao.ingest import import_paths
from fapiao.proof import signed_bytes
from tests.conftest import run_cli, write_invoice


@pytest.fixture
def env(tmp_path):
    return {"FAPIAO_SIGNING_KEY": str(tmp_path / "signing.pem")}


@pytest.fixture
def exported(ledger, factory, tmp_path, db_url, env):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    years = Counter()
    for n in range(8):
        inv = factory.invoice()
        years[inv.issue_date.year] += 1
        write_invoice(tmp_path / "in" / f"{n}.json", inv)
    import_paths(ledger, [tmp_path / "in"])
    year, count = years.most_common(1)[0]
    assert count >= 2
    pkg = tmp_path / "pkg"
    proc = run_cli(
        "--db", db_url, "archive", "export", "--tenant", factory.home.tax_id,
        "--period", str(year), "--out", str(pkg), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return pkg


def _verify(path, *args):
    return run_cli("archive", "verify", str(path), *args, env={"FAPIAO_DB": "/nonexistent/x"})


def _manifest(pkg):
    return json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))


def test_package_holds_and_carries_everything(exported):
    manifest = _manifest(exported)
    assert manifest["invoices"], "the period has invoices"
    for entry in manifest["invoices"]:
        names = {p.name for p in (exported / entry["folder"]).iterdir()}
        assert {"invoice.json", "proof.json"} <= names
        assert any(n.startswith("original") for n in names)
    proc = _verify(exported)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "package holds" in proc.stdout


def test_zip_package_holds(ledger, exported, tmp_path):
    zipped = tmp_path / "pkg.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for path in exported.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(exported).as_posix())
    assert _verify(zipped).returncode == 0


def test_changed_original_is_found(exported):
    entry = _manifest(exported)["invoices"][0]
    original = next((exported / entry["folder"]).glob("original*"))
    original.write_bytes(original.read_bytes() + b" ")
    proc = _verify(exported)
    assert proc.returncode == 1
    assert "changed" in proc.stderr and entry["folder"] in proc.stderr


def test_added_and_removed_files_are_found(exported):
    entry = _manifest(exported)["invoices"][0]
    (exported / entry["folder"] / "extra.txt").write_text("x")
    (exported / entry["folder"] / "invoice.json").unlink()
    proc = _verify(exported)
    assert proc.returncode == 1
    assert "does not list" in proc.stderr and "missing" in proc.stderr


def test_manifest_edited_without_the_key_is_found(exported):
    manifest = _manifest(exported)
    manifest["invoices"].pop()  # hide one invoice from the auditor
    (exported / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    proc = _verify(exported)
    assert proc.returncode == 1 and "manifest's signature" in proc.stderr


def test_swapped_original_resigned_by_the_insider_is_found(exported, env):
    """Even with the ledger's key, a swapped original does not match what its event recorded."""
    from fapiao.ledger.checkpoint import signing_key

    manifest = _manifest(exported)
    first, second = manifest["invoices"][:2]
    a = next((exported / first["folder"]).glob("original*"))
    b = next((exported / second["folder"]).glob("original*"))
    a.write_bytes(b.read_bytes())
    name = a.relative_to(exported).as_posix()
    manifest["files"][name] = manifest["files"][b.relative_to(exported).as_posix()]
    key = signing_key(Path(env["FAPIAO_SIGNING_KEY"]))
    manifest["signature"] = base64.b64encode(key.sign(signed_bytes(manifest))).decode()
    (exported / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    proc = _verify(exported)
    assert proc.returncode == 1
    assert "not the file that was recorded" in proc.stderr


def test_package_signed_by_another_key_fails_when_the_key_is_pinned(exported):
    manifest = _manifest(exported)
    pinned = manifest["public_key"]
    other = Ed25519PrivateKey.generate()
    manifest["public_key"] = base64.b64encode(
        other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    manifest["signature"] = base64.b64encode(other.sign(signed_bytes(manifest))).decode()
    (exported / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    proc = _verify(exported, "--key", pinned)
    assert proc.returncode == 1 and "signature" in proc.stderr
