"""Imported first in a subprocess, it makes the `ocr` extra's packages impossible to import, as on a
machine installed without `fapiao[ocr]`: `python -c "import tests.no_ocr; …"`."""

from __future__ import annotations

import os
import sys
from typing import Any

BLOCKED = frozenset({"numpy", "cv2", "rapidocr_onnxruntime", "onnxruntime"})


class _Blocker:
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"No module named {name!r} (blocked: no ocr extra)")
        return None


for loaded in [m for m in sys.modules if m.partition(".")[0] in BLOCKED]:
    raise RuntimeError(f"{loaded} was imported before the blocker")
sys.meta_path.insert(0, _Blocker())
# a server's parser process would start without the blocker: uploads are parsed in its threads
os.environ["FAPIAO_UPLOAD_PARSER"] = "thread"
