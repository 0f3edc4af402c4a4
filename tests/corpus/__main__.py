"""python -m tests.corpus OUT [--count 48] [--photos 8] [--seed 1]: writes a generated corpus."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.corpus import generate, write


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.corpus", description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=48)
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    paths = write(args.out, generate(args.count, args.seed, args.photos))
    sys.stdout.write(f"{len(paths)} files in {args.out}\n")


if __name__ == "__main__":
    main()
