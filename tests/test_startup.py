"""Page up first, model after: questions asked while the model loads in the background show
"正在加载模型…" and are answered once it is ready; a failed load is a clear error, not a hang."""

from __future__ import annotations

import sys
import threading

import pytest

from qa.answer import Answerer
from qa.answerability import AnswerabilityModel
from qa.warmup import Background

from .conftest import ROOT

sys.path.insert(0, str(ROOT))
import app  # noqa: E402


class GatedEmbedder:
    """An embedder whose first use waits until ``gate`` is set, as a model still loading does."""

    def __init__(self, inner, fail: bool = False):
        self.inner, self.fail = inner, fail
        self.model_id, self.dim, self.fingerprint = inner.model_id, inner.dim, inner.fingerprint
        self.gate = threading.Event()

    def _load(self):
        self.gate.wait(30)
        if self.fail:
            raise RuntimeError("weights unreadable")

    def encode_queries(self, texts):
        self._load()
        return self.inner.encode_queries(texts)

    def encode_documents(self, texts, titles=None, progress=None):
        self._load()
        return self.inner.encode_documents(texts, titles, progress)


def _fn(demo, name):
    return next(f.fn for f in demo.fns.values() if getattr(f, "api_name", None) == name)


@pytest.fixture
def gated(tiny_index, hash_embedder):
    emb = GatedEmbedder(hash_embedder)
    return emb, Answerer(tiny_index, emb, answerability=AnswerabilityModel.always())


def test_a_question_before_the_model_is_ready_shows_loading_then_the_answer(gated, tmp_path):
    emb, answerer = gated
    ready = Background(answerer.warm_up)
    demo = app.create_app(answerer, data_dir=tmp_path, ready=ready)  # the page builds without the model
    respond = _fn(demo, "ask")
    stream = respond("货车司机之家有什么?", [], [])
    first = next(stream)
    assert first[0][-1]["content"] == app.LOADING_MODEL and not ready.ready
    emb.gate.set()
    outs = list(stream)
    assert ready.ready and outs
    final = outs[-1][0][-1]["content"]
    assert final and final != app.LOADING_MODEL and "货车司机之家" in final
    # once ready, a question is answered without the loading message
    again = list(respond("职工书屋有多少册书?", [], []))
    assert all(o[0][-1]["content"] != app.LOADING_MODEL for o in again)


def test_a_failed_model_load_is_a_clear_error_for_every_waiting_question(tiny_index, hash_embedder, tmp_path):
    import gradio as gr

    emb = GatedEmbedder(hash_embedder, fail=True)
    answerer = Answerer(tiny_index, emb, answerability=AnswerabilityModel.always())
    ready = Background(answerer.warm_up)
    demo = app.create_app(answerer, data_dir=tmp_path, ready=ready)
    emb.gate.set()
    with pytest.raises(RuntimeError, match="weights unreadable"):
        ready.wait(10)
    with pytest.raises(gr.Error, match="模型没能加载"):
        list(_fn(demo, "ask")("货车司机之家有什么?", [], []))
    with pytest.raises(gr.Error, match="模型没能加载"):
        _fn(demo, "cases")("讨薪", [], [], [])


def test_background_reports_done_and_its_time():
    done = Background.done()
    assert done.ready and done.wait(0)
    b = Background(lambda: None)
    assert b.wait(5) and b.seconds is not None


def test_background_can_start_later_and_only_once():
    runs = []
    b = Background(lambda: runs.append(1), start=False)
    assert not b.ready and not b.wait(0.05)
    b.start()
    b.start()
    assert b.wait(5) and runs == [1]
    b.start()
    assert runs == [1]
