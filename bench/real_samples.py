"""Field accuracy on the real sample invoices (tests/data/samples, or the folder given): each file's
core fields, parties and items against its expected JSON. A file that could not be fully read still
counts the fields it did read (`Parsed.fields`), so the figure is what a clerk would find filled in.

    python bench/real_samples.py [SAMPLES_DIR] [-v]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from fapiao.codec import invoice_to_json
from fapiao.parse import parse_bytes
from fapiao.parse.reading import document

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "samples"
CORE = ("kind", "code", "number", "issue_date", "amount", "tax", "total", "check_code")
ITEM = ("name", "tax_rate", "amount", "tax")


def expected_fields(want: dict[str, Any]) -> dict[str, str]:
    fields = {key: want.get(key) for key in CORE}
    for role in ("seller", "buyer"):
        for key in ("name", "tax_id"):
            fields[f"{role}.{key}"] = want[role][key]
    for n, item in enumerate(want["items"]):
        for key in ITEM:
            fields[f"items[{n}].{key}"] = item[key]
    return fields


def lookup(doc: Any, path: str) -> Any:
    for part in path.replace("]", "").replace("[", ".").split("."):
        if isinstance(doc, list):
            index = int(part)
            doc = doc[index] if index < len(doc) else None
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def _norm(value: Any) -> str | None:
    return None if value is None else "".join(str(value).split())


def score_file(source: Path, want: dict[str, Any]) -> tuple[int, list[tuple[str, Any, Any]], float]:
    started = time.perf_counter()
    parsed = parse_bytes(source.read_bytes())[0]
    elapsed = time.perf_counter() - started
    got = invoice_to_json(parsed.invoice) if parsed.invoice else document(parsed.fields)
    fields = expected_fields(want)
    wrong = [(k, v, lookup(got, k)) for k, v in fields.items() if _norm(lookup(got, k)) != _norm(v)]
    return len(fields), wrong, elapsed


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    root = Path(args[0]) if args else DEFAULT
    by_format: dict[str, list[int]] = {}
    for expected in sorted(root.glob("*/*.expected.json")):
        source = expected.with_name(expected.name.removesuffix(".expected.json"))
        total, wrong, elapsed = score_file(source, json.loads(expected.read_text("utf-8")))
        tally = by_format.setdefault(source.parent.name, [0, 0, 0, 0])
        tally[0] += total - len(wrong)
        tally[1] += total
        tally[2] += not wrong
        tally[3] += 1
        print(f"{source.parent.name}/{source.name}: {total - len(wrong)}/{total} {elapsed:.2f} s")
        for row in wrong if verbose else ():
            print("    ", row)
    right = sum(t[0] for t in by_format.values())
    fields = sum(t[1] for t in by_format.values())
    for fmt, (ok, total, whole, files) in sorted(by_format.items()):
        print(
            f"{fmt:18} fields {ok}/{total} = {100 * ok / total:5.1f} %   files whole {whole}/{files}"
        )
    print(f"{'all':18} fields {right}/{fields} = {100 * right / max(fields, 1):5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
