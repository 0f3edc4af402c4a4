"""fapiao: a company's own source of truth for its 发票.

Packages follow the data flow in DESIGN.md: parse -> validate -> ledger -> (sync, reconcile, backup),
with cli and web at the edges.
"""

import os

__version__ = "0.1.0"

# numpy's BLAS (OpenBLAS) starts a thread per core when numpy loads, each spinning awhile for
# work that never comes here (no matrix large enough to share among cores): a tenth of a second
# of CPU in every process that loads numpy (Arrow, DuckDB, the QR and OCR readers), taken from
# the other core while it parses or writes. Set before numpy loads; a value given wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
