"""Embedding backends: selection, fingerprints, the index refusing another backend's embedder, the
bench's default rule; with the real model (``-m model``), ONNX vectors against torch's."""

from __future__ import annotations

import numpy as np
import pytest

from qa.bench_embed import choose_default
from qa.embed import (BACKENDS, DEFAULT_BACKEND, FALLBACK_BACKEND, HashEmbedder, OnnxEmbedder, OpenVinoEmbedder,
                      SentenceTransformerEmbedder, backend_of, default_backend, get_embedder, index_backend)
from qa.embedders.openvino_rt import cpu_has_bf16


class Renamed(HashEmbedder):
    """The hash embedder under another fingerprint, as another backend of the same model would be."""

    def __init__(self, fingerprint: str):
        super().__init__(128)
        self._fp = fingerprint

    @property
    def fingerprint(self) -> str:
        return self._fp


def test_backend_selection(monkeypatch):
    monkeypatch.delenv("QA_EMBED_BACKEND", raising=False)
    monkeypatch.delenv("QA_EMBED_DTYPE", raising=False)
    assert default_backend() in BACKENDS
    # the default needs a CPU that runs bf16 natively; elsewhere OpenVINO would run it in f32, at half torch's speed
    assert default_backend(native_bf16=True) == DEFAULT_BACKEND == "openvino-bf16"
    assert default_backend(native_bf16=False) == FALLBACK_BACKEND == "torch-bf16"
    assert default_backend() == ("openvino-bf16" if cpu_has_bf16() else "torch-bf16")
    monkeypatch.setenv("QA_EMBED_BACKEND", "onnx-int8")
    e = get_embedder("google/embeddinggemma-300m", fetch=False)
    assert isinstance(e, OnnxEmbedder) and e.backend == "onnx-int8" and e.quant == "int8"
    e = get_embedder("google/embeddinggemma-300m", backend="torch-fp32", fetch=False)
    assert isinstance(e, SentenceTransformerEmbedder) and not isinstance(e, OnnxEmbedder) and e.dtype == "fp32"
    e = get_embedder("google/embeddinggemma-300m", backend="openvino-bf16", fetch=False)
    assert isinstance(e, OpenVinoEmbedder) and e.backend == "openvino-bf16" and e.precision == "bf16"
    monkeypatch.setenv("QA_EMBED_BACKEND", "tensorrt")
    with pytest.raises(ValueError, match="allowed values"):
        get_embedder("google/embeddinggemma-300m", fetch=False)
    monkeypatch.delenv("QA_EMBED_BACKEND")
    monkeypatch.setenv("QA_EMBED_DTYPE", "fp32")  # the older setting still selects torch fp32
    assert default_backend() == "torch-fp32"
    assert isinstance(get_embedder("hash-64", backend="onnx-fp32"), HashEmbedder)  # hash ignores backends


def test_fingerprints_name_their_backend():
    assert backend_of("3ad60819e80474c1-bf16") == "torch-bf16"
    assert backend_of("3ad60819e80474c1-fp32") == "torch-fp32"
    assert backend_of("3ad60819e80474c1-onnx1-onnx-fp32") == "onnx-fp32"
    assert backend_of("3ad60819e80474c1-onnx1-onnx-int8") == "onnx-int8"
    assert backend_of("3ad60819e80474c1-onnx1-openvino-bf16") == "openvino-bf16"  # not torch-bf16
    assert backend_of("3ad60819e80474c1-onnx1-openvino-fp32") == "openvino-fp32"
    assert backend_of("hash-v1-128") is None


def test_index_built_by_one_backend_refuses_another(tiny_dir, tmp_path, monkeypatch):
    from qa.index import BadIndexError, build_index, load_index
    from qa.retrieve import Retriever

    out = tmp_path / "index"
    build_index([tiny_dir], out, Renamed("abc-onnx1-onnx-int8"), progress=False, log=lambda *_: None)
    index = load_index(out)
    monkeypatch.delenv("QA_EMBED_BACKEND", raising=False)
    assert index_backend(index) == "onnx-int8"  # a query embedder follows the index's backend
    monkeypatch.setenv("QA_EMBED_BACKEND", "torch-bf16")
    assert index_backend(index) == "torch-bf16"  # an explicit choice wins, and the index checks it
    with pytest.raises(BadIndexError, match="abc-onnx1-onnx-int8"):
        Retriever(index, Renamed("abc-bf16"))
    hits = Retriever(index, Renamed("abc-onnx1-onnx-int8")).search("货车司机哪里能休息?")
    assert hits
    # rebuilding with another backend re-embeds everything (nothing reused across backends)
    rep = build_index([tiny_dir], out, Renamed("abc-bf16"), progress=False, log=lambda *_: None)
    assert rep.embedded > 0 and load_index(out).manifest["model"]["fingerprint"] == "abc-bf16"


def _row(name, speed, cos=1.0, hit5=0.9, mrr=0.8):
    return {"name": name, "items_per_s": speed, "mean_cosine_to_torch": cos,
            "hit5": {"dev": hit5, "heldout": hit5}, "mrr": {"dev": mrr, "heldout": mrr}}


def test_default_is_the_fastest_that_keeps_quality():
    ref = _row("torch-bf16", 10)
    assert choose_default([ref, _row("onnx-fp32", 15), _row("onnx-int8", 30, cos=0.97)]) == "onnx-fp32"
    assert choose_default([ref, _row("onnx-fp32", 15), _row("onnx-int8", 30, cos=0.995)]) == "onnx-int8"
    assert choose_default([ref, _row("onnx-fp32", 15, mrr=0.78), _row("onnx-int8", 30, hit5=0.85)]) == "torch-bf16"
    assert choose_default([ref, _row("onnx-fp32", 9)]) == "torch-bf16"  # slower: not taken
    assert choose_default([ref, _row("onnx-fp32", 15, mrr=0.795)]) == "onnx-fp32"  # within 0.01


@pytest.mark.model
def test_onnx_and_openvino_vectors_match_torch():
    texts = ["工会帮助农民工讨回欠薪236万元。", "货车司机之家配有淋浴间、洗衣机和休息室，全天24小时开放。", "短"]
    torch_vecs = get_embedder("google/embeddinggemma-300m", backend="torch-bf16").encode_documents(texts)
    for backend, bound in (("onnx-fp32", 0.99), ("onnx-int8", 0.9), ("openvino-bf16", 0.99)):
        e = get_embedder("google/embeddinggemma-300m", backend=backend)
        v = e.encode_documents(texts)
        assert v.shape == torch_vecs.shape
        assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
        assert float(np.sum(v * torch_vecs, axis=1).min()) >= bound, backend
        q = e.encode_queries(["工资被拖欠了找谁?"])
        assert int(np.argmax(v @ q[0])) == 0
