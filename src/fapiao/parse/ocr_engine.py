"""The OCR engine (RapidOCR on onnxruntime, models inside the wheel; nothing downloads), loaded
once per process and shared, and its output as positioned `Box`es.

A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import math
import threading
from typing import Any

from fapiao.parse.layout import Box

_lock = threading.Lock()
_engine: Any = None
DET_SIDE = 1024  # text detection runs on the page scaled to this longest side
# One thread per process: imports and test runs read several files in parallel processes, and
# onnxruntime's spinning thread pool loses badly when cores are shared.
OCR_THREADS = 1


class OcrUnavailable(RuntimeError):
    """The `ocr` extra (rapidocr-onnxruntime) is not installed."""


def engine() -> Any:
    """The process-wide RapidOCR instance (built on first use: about 0.2 s)."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                try:
                    from rapidocr_onnxruntime import RapidOCR
                except ImportError as exc:  # pragma: no cover - the ocr extra is installed by make
                    raise OcrUnavailable("pip install 'fapiao[ocr]'") from exc
                _engine = RapidOCR(
                    print_verbose=False,
                    use_cls=False,  # pages are turned upright from the QR before OCR
                    det_limit_type="max",
                    det_limit_side_len=DET_SIDE,
                    intra_op_num_threads=OCR_THREADS,
                    inter_op_num_threads=1,
                )
    return _engine


def read(image: Any) -> tuple[list[Box], float]:
    """OCR of an RGB PIL image: boxes in image pixels, de-rotated by the median text angle, and
    that angle (degrees, counter-clockwise tilt of the text lines)."""
    import numpy as np

    result, _ = engine()(np.asarray(image.convert("RGB"))[:, :, ::-1])
    if not result:
        return [], 0.0
    angles = []
    for quad, _text, _score in result:
        (x0, y0), (x1, y1) = quad[0], quad[1]
        if x1 - x0 > 2 * abs(y1 - y0) and x1 - x0 > 40:
            angles.append(math.atan2(y1 - y0, x1 - x0))
    angle = sorted(angles)[len(angles) // 2] if angles else 0.0
    cos, sin = math.cos(-angle), math.sin(-angle)
    boxes = []
    for quad, text, _score in result:
        xs, ys = [], []
        for x, y in quad:
            xs.append(x * cos - y * sin)
            ys.append(x * sin + y * cos)
        boxes.append(Box(str(text), min(xs), min(ys), max(xs), max(ys)))
    return boxes, math.degrees(angle)
