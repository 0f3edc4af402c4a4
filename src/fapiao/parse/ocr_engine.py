"""The OCR engine (RapidOCR's PP-OCRv4 models on onnxruntime, inside the wheel; nothing downloads),
loaded once per process and shared, and its output as positioned `Box`es.

RapidOCR provides the models, the detector's post-processing and the CTC decoder; the steps around
them are done here, because the stock pipeline spends most of its time on work an invoice does not
need: each text line is cut out and scaled to the recogniser's height in one affine warp, and lines
are recognised one at a time at their own width (the stock batches pad every line to at least 320
pixels, and the recogniser's cost grows with the width it is given).
A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

from fapiao.parse.layout import Box

_lock = threading.Lock()
_engine: Any = None
DET_SIDE = 1500  # text detection runs on the page scaled down to at most this longest side
REC_HEIGHT = 48  # the recogniser's input height (PP-OCRv4)
REC_MIN_WIDTH = 64  # very short lines are padded to this width (single characters read better)
REC_MAX_WIDTH = 1600
REC_SQUEEZE = 0.8  # lines are narrowed by this factor before recognition (the cost is per column)
CIPHER_ASPECT = 8.0  # a cipher line of the 密码区 is longer than this many heights
MARGIN_ASPECT = 8.0  # vertical lines longer than this many widths are the margins' print
TEXT_SCORE = 0.5  # lines recognised with less confidence are dropped, as RapidOCR does
# Two threads by default: a scanned page's latency is what a clerk waits for (0.66 s median on
# 2 idle cores against 1.02 s with one). FAPIAO_OCR_THREADS=1 suits machines whose cores are
# busy with other parsing processes, where onnxruntime's spinning thread pool loses.
OCR_THREADS = int(os.environ.get("FAPIAO_OCR_THREADS", "2"))


class OcrUnavailable(RuntimeError):
    """The `ocr` extra (rapidocr-onnxruntime) is not installed."""


def engine() -> Any:
    """The process-wide RapidOCR instance (built on first use: about 0.2 s)."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                try:
                    import cv2
                    import numpy  # noqa: F401  (the extra brings it; without it OCR is off)
                    from rapidocr_onnxruntime import RapidOCR
                except ImportError as exc:  # pragma: no cover - the ocr extra is installed by make
                    raise OcrUnavailable("pip install 'fapiao[ocr]'") from exc
                cv2.setNumThreads(1)  # small warps and resizes: threads cost more than they give
                _engine = RapidOCR(
                    print_verbose=False,
                    use_cls=False,  # pages are turned upright from the QR before OCR
                    det_limit_type="max",
                    det_limit_side_len=DET_SIDE,
                    intra_op_num_threads=OCR_THREADS,
                    inter_op_num_threads=1,
                )
                _faster_sessions(_engine)
    return _engine


def _faster_sessions(eng: Any) -> None:
    """The detector's and the recogniser's sessions again, on the models as `ocr_models` rewrites
    them (the same function in fewer passes: about a fifth less time for each). The detector's
    session also keeps onnxruntime's memory arena, which RapidOCR turns off: its intermediate
    tensors are tens of megabytes, and without the arena each is mapped and faulted in afresh on
    every page (a sixth of its time). The recogniser's tensors are small and gain nothing."""
    from pathlib import Path

    import rapidocr_onnxruntime

    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    det, rec = models / "ch_PP-OCRv4_det_infer.onnx", models / "ch_PP-OCRv4_rec_infer.onnx"
    if det.is_file():  # another release of the wheel keeps its own sessions
        eng.text_det.infer.session = _session(det, arena=True)
    if rec.is_file():
        eng.text_rec.session.session = _session(rec, arena=False)


def _session(model: Any, *, arena: bool) -> Any:
    import onnxruntime as ort

    from fapiao.parse.ocr_models import rewritten

    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = OCR_THREADS
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = arena
    providers = ["CPUExecutionProvider"]
    try:
        return ort.InferenceSession(rewritten(model), sess_options=options, providers=providers)
    except Exception:  # a model the rewrite mistook: onnxruntime runs it as shipped
        return ort.InferenceSession(str(model), sess_options=options, providers=providers)


def _detect(eng: Any, rgb: Any) -> Any:
    """Quadrilaterals (N×4×2, image pixels, clockwise from top left) of the text lines."""
    import cv2
    import numpy as np

    h, w = rgb.shape[:2]
    scale = min(1.0, DET_SIDE / max(h, w))
    dh, dw = max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)
    small = cv2.resize(rgb, (dw, dh))
    blob = small[:, :, ::-1].transpose(2, 0, 1)[np.newaxis].astype(np.float32)
    blob *= 2 / 255.0
    blob -= 1.0
    det = eng.text_det
    pred = det.infer(blob)[0]
    quads, _ = det.postprocess_op(pred, (h, w))
    return det.filter_tag_det_res(quads, (h, w))


def _line_image(bgr: Any, quad: Any) -> Any:
    """One text line cut out of the page, straightened and scaled to the recogniser's height."""
    import cv2
    import numpy as np

    width = max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3]))
    height = max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))
    vertical = height >= 1.5 * width  # a column of text (购买方/销售方 on the 数电票 side bar)
    if vertical:
        width, height = height, width
        quad = quad[[1, 2, 3, 0]]  # turned a quarter anticlockwise: the top comes first
    out_w = int(
        min(REC_MAX_WIDTH, max(8, math.ceil(REC_SQUEEZE * REC_HEIGHT * width / max(height, 1.0))))
    )
    target = np.array([[0, 0], [out_w, 0], [out_w, REC_HEIGHT], [0, REC_HEIGHT]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(
        bgr,
        matrix,
        (out_w, REC_HEIGHT),
        borderMode=cv2.BORDER_REPLICATE,
        flags=cv2.INTER_LINEAR if height > REC_HEIGHT else cv2.INTER_CUBIC,
    )


def _recognise(eng: Any, line: Any) -> tuple[str, float]:
    """Text and score of one line image. Lines are recognised one at a time at their own width:
    batches pad every line to the widest, which costs more time than the calls it saves, and
    the padding changes what the recogniser reads at a line's end."""
    import numpy as np

    w = line.shape[1]
    width = max(w, REC_MIN_WIDTH)
    blob = np.zeros((1, 3, REC_HEIGHT, width), dtype=np.float32)
    blob[0, :, :, :w] = line.transpose(2, 0, 1)
    blob[0, :, :, :w] *= 2 / 255.0
    blob[0, :, :, :w] -= 1.0
    rec = eng.text_rec
    preds = rec.session(blob)[0]
    text, score = rec.postprocess_op(preds)[0][:2]
    return str(text), float(score)


def ocr(rgb: Any, *, skip_rows: tuple[float, float] | None = None) -> list[tuple[Any, str, float]]:
    """(quadrilateral, text, score) of every text line in an RGB array; lines whose middle lies
    between the two heights of `skip_rows` are left unread, and so are the cipher lines of a
    密码区 (no field is read from them, and they are the page's widest lines)."""
    import numpy as np

    eng = engine()
    quads = _detect(eng, rgb)
    if quads is None or len(quads) == 0:
        return []
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    wanted = [
        n
        for n, quad in enumerate(quads)
        if not (skip_rows is not None and skip_rows[0] <= float(quad[:, 1].mean()) <= skip_rows[1])
        and _aspect(quad) >= 1 / MARGIN_ASPECT  # not the margins' vertical print (印制, 第二联 …)
    ]
    # Short lines first: the 密 of the 密码区 label is read before the long lines beside it.
    short = [n for n in wanted if _aspect(quads[n]) <= CIPHER_ASPECT]
    found = _read_lines(eng, bgr, quads, short)
    cipher = next(
        (
            _cipher_zone(quad, _CIPHER_LABEL[text])
            for quad, text, _ in found.values()
            if text in _CIPHER_LABEL and float(quad[:, 1].mean()) < rgb.shape[0] / 2
        ),
        None,
    )
    long = [
        n
        for n in wanted
        if _aspect(quads[n]) > CIPHER_ASPECT and not (cipher and _inside(quads[n], cipher))
    ]
    columns = [
        float(quad[:, 0].min())
        for quad, text, _ in found.values()
        if text == "名" or text.startswith(_PARTY_LABELS)
    ]
    long = [n for n in long if not (columns and _address_line(eng, bgr, quads[n], columns))]
    found.update(_read_lines(eng, bgr, quads, long))
    return [found[n] for n in sorted(found)]


# Labels of a party block; the 地址、电话 and 开户行及账号 lines hold nothing the invoice records.
_PARTY_LABELS = ("名称", "纳税人", "地址", "开户行")
_UNRECORDED = ("地址", "电话", "开户", "账号")


def _address_line(eng: Any, bgr: Any, quad: Any, columns: list[float]) -> bool:
    """A long line starting at the party labels' column whose first characters are 地址、电话 or
    开户行及账号: its first few characters are read alone, and the rest is not read at all."""
    height = float(quad[:, 1].max() - quad[:, 1].min())
    if not any(abs(float(quad[:, 0].min()) - x) < height for x in columns):
        return False
    width = float(quad[:, 0].max() - quad[:, 0].min())
    share = min(1.0, 4.5 * height / max(width, 1.0))
    head = quad.copy()
    head[1] = quad[0] + (quad[1] - quad[0]) * share
    head[2] = quad[3] + (quad[2] - quad[3]) * share
    text, _ = _recognise(eng, _line_image(bgr, head))
    return text.startswith(_UNRECORDED)


def _read_lines(
    eng: Any, bgr: Any, quads: Any, indices: list[int]
) -> dict[int, tuple[Any, str, float]]:
    results = [_recognise(eng, _line_image(bgr, quads[n])) for n in indices]
    return {
        n: (quads[n], text, score)
        for n, (text, score) in zip(indices, results, strict=True)
        if score >= TEXT_SCORE and text
    }


def _aspect(quad: Any) -> float:
    """Width over height of a detected line (a column of text is below 1)."""
    width = float(quad[:, 0].max() - quad[:, 0].min())
    height = float(quad[:, 1].max() - quad[:, 1].min())
    return width / max(height, 1.0)


# The 密码区 label as OCR reads it: its characters stand in a column, 1.7 heights apart.
_CIPHER_LABEL = {"密": 0, "码": 1, "区": 2, "密码": 0, "密码区": 0}


def _cipher_zone(label: Any, index: int) -> tuple[float, float, float]:
    """Left edge, top and bottom of the cipher text right of the 密码区 label (`index`: which of
    its characters was read): four lines beside the label's column, about six heights in all."""
    size = float(label[:, 1].max() - label[:, 1].min())
    top = float(label[:, 1].min()) - (1.7 * index + 0.8) * size
    return float(label[:, 0].max()), top, top + 5.8 * size


def _inside(quad: Any, zone: tuple[float, float, float]) -> bool:
    left, top, bottom = zone
    return float(quad[:, 0].min()) > left and top <= float(quad[:, 1].mean()) <= bottom


def read(image: Any, *, skip_rows: tuple[float, float] | None = None) -> tuple[list[Box], float]:
    """OCR of an RGB PIL image: boxes in image pixels, de-rotated by the median text angle, and
    that angle (degrees, counter-clockwise tilt of the text lines). `skip_rows` as for `ocr`."""
    engine()  # OcrUnavailable before anything of the extra is imported
    import numpy as np

    result = ocr(np.asarray(image.convert("RGB")), skip_rows=skip_rows)
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
    for quad, text, score in result:
        xs, ys = [], []
        for x, y in quad:
            xs.append(x * cos - y * sin)
            ys.append(x * sin + y * cos)
        boxes.append(Box(str(text), min(xs), min(ys), max(xs), max(ys), score=float(score)))
    return boxes, math.degrees(angle)
