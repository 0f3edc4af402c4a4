"""Field accuracy on the real sample invoices (tests/data/samples, or the folder given): each file's
core fields, parties and items against its expected JSON, scored by `tests/corpus/score.py` (the
same scorer as the generated corpus). A file that could not be fully read still counts the fields it
did read (`Parsed.fields`), so the figure is what a clerk would find filled in.

    python bench/real_samples.py [SAMPLES_DIR] [-v]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.corpus.score import compare, parsed_document  # noqa: E402

DEFAULT = ROOT / "tests" / "data" / "samples"


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    root = Path(args[0]) if args else DEFAULT
    by_format: dict[str, list[int]] = {}
    for expected in sorted(root.glob("*/*.expected.json")):
        source = expected.with_name(expected.name.removesuffix(".expected.json"))
        started = time.perf_counter()
        got = parsed_document(source.read_bytes())
        elapsed = time.perf_counter() - started
        total, wrong = compare(got, json.loads(expected.read_text("utf-8")))
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
