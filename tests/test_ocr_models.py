"""The OCR models as rewritten at load (`fapiao.parse.ocr_models`): fewer elementwise nodes, and
the same outputs as RapidOCR's own models on a real page and on a real text line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fapiao.parse import ocr_models

ort = pytest.importorskip("onnxruntime")
rapidocr = pytest.importorskip("rapidocr_onnxruntime")
MODELS = Path(rapidocr.__file__).parent / "models"
SCAN = Path(__file__).parent / "data" / "samples" / "scan" / "screen-tianjin-old-normal.png"


def _session(model: Path | bytes) -> object:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    return ort.InferenceSession(
        model if isinstance(model, bytes) else str(model),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )


def _ops(model: bytes) -> Counter[str]:
    graph = ocr_models._classes()["Model"].FromString(model).graph
    return Counter(node.op_type for node in graph.node)


def _page() -> np.ndarray:
    """The top of a real page, at the detector's multiple of 32, normalised as for the detector."""
    rgb = np.asarray(Image.open(SCAN).convert("RGB"))[:320, :640]
    return (rgb[:, :, ::-1].transpose(2, 0, 1)[np.newaxis].astype(np.float32) / 127.5) - 1.0


@pytest.mark.parametrize("name", ["det", "rec"])
def test_rewrite_removes_the_elementwise_chains(name: str) -> None:
    path = MODELS / f"ch_PP-OCRv4_{name}_infer.onnx"
    before, after = _ops(path.read_bytes()), _ops(ocr_models.rewritten(path))
    assert after["Clip"] == 0 < before["Clip"]  # every hard-swish became a HardSigmoid gate
    assert after["Div"] < before["Div"]
    assert after["Add"] + after["Mul"] < 0.6 * (before["Add"] + before["Mul"])
    assert after["Conv"] == before["Conv"]


def test_rewritten_detector_gives_the_same_map() -> None:
    path = MODELS / "ch_PP-OCRv4_det_infer.onnx"
    page = _page()
    want = _session(path).run(None, {"x": page})[0]
    got = _session(ocr_models.rewritten(path)).run(None, {"x": page})[0]
    assert want.shape == got.shape
    assert float(np.abs(want - got).max()) < 1e-3
    assert ((want > 0.3) == (got > 0.3)).mean() > 0.9999


def test_rewritten_recogniser_gives_the_same_text_scores() -> None:
    path = MODELS / "ch_PP-OCRv4_rec_infer.onnx"
    line = Image.open(SCAN).convert("RGB").crop((0, 0, 640, 60)).resize((512, 48))
    blob = (np.asarray(line)[:, :, ::-1].transpose(2, 0, 1)[np.newaxis] / 127.5 - 1.0).astype(
        np.float32
    )
    want = _session(path).run(None, {"x": blob})[0]
    got = _session(ocr_models.rewritten(path)).run(None, {"x": blob})[0]
    assert want.shape == got.shape
    assert float(np.abs(want - got).max()) < 1e-3
    assert (want.argmax(axis=-1) == got.argmax(axis=-1)).all()


def test_a_model_without_the_patterns_comes_out_unchanged(tmp_path: Path) -> None:
    classes = ocr_models._classes()
    graph = classes["Graph"](
        node=[
            classes["Node"](op_type="Conv", input=["x", "w"], output=["c"]),
            classes["Node"](op_type="Relu", input=["c"], output=["y"]),
        ]
    )
    path = tmp_path / "plain.onnx"
    path.write_bytes(classes["Model"](graph=graph).SerializeToString())
    assert ocr_models.rewritten(path) == path.read_bytes()


def test_a_rewrite_onnxruntime_refuses_falls_back_to_the_shipped_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fapiao.parse import ocr_engine

    path = MODELS / "ch_PP-OCRv4_rec_infer.onnx"
    monkeypatch.setattr(ocr_models, "rewritten", lambda _path: b"not a model")
    monkeypatch.setattr(ocr_engine, "OCR_THREADS", 1)  # as `_session` below: the same sums
    session = ocr_engine._session(path, arena=False)
    line = Image.open(SCAN).convert("RGB").crop((0, 0, 640, 60)).resize((512, 48))
    blob = (np.asarray(line).transpose(2, 0, 1)[np.newaxis] / 127.5 - 1.0).astype(np.float32)
    # bit for bit what the shipped model gives (the rewritten one differs in the last digits)
    assert np.array_equal(
        session.run(None, {"x": blob})[0], _session(path).run(None, {"x": blob})[0]
    )
