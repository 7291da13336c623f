"""The Gradio app module without a browser: it builds, escapes bulletin text, logs feedback."""

import json
import sys

import pytest

from qa.answer import Answerer
from qa.answerability import AnswerabilityModel

from .conftest import ROOT

sys.path.insert(0, str(ROOT))
import app  # noqa: E402


@pytest.fixture
def script_index(tmp_path, hash_embedder):
    from qa.index import build_index, load_index

    d = tmp_path / "src"
    d.mkdir()
    (d / "evil.txt").write_text("职工书屋开放\n\n本刊讯 职工书屋藏书<script>alert(1)</script>3000册,欢迎借阅。\n",
                                encoding="utf-8")
    (d / "ok.txt").write_text("货车司机之家\n\n本刊讯 货车司机之家有淋浴间。\n", encoding="utf-8")
    build_index([d], tmp_path / "idx", hash_embedder, progress=False, log=lambda *_: None)
    return load_index(tmp_path / "idx")


def test_bulletin_script_is_escaped_everywhere(script_index, hash_embedder):
    a = Answerer(script_index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = a.ask("职工书屋藏书多少册?")
    assert "<script>" in ans.text  # the library keeps the text verbatim …
    chat = app.render_answer(ans, 1)
    side = app.render_sources(ans, script_index.texts, 1)
    assert "<script>" not in chat and "&lt;script&gt;" in chat  # … the page shows it as text
    assert "<script>" not in side and "&lt;script&gt;" in side
    # anchors name the answer too (src-<answer>-<n>): an older answer's [1] keeps its own card
    assert '<a class="cite" href="#src-1-1">[1]</a>' in chat and 'id="src-1-1"' in side and "<mark>" in side


def test_refusal_renders_its_nearest_sentence_and_topics(script_index, hash_embedder):
    a = Answerer(script_index, hash_embedder)
    ans = a.ask("量子计算机的原理是什么?")
    assert ans.refused and ans.topics
    html = app.render_sources(ans, script_index.texts, 1)
    assert "没有能回答" in html
    if ans.citations:  # the nearest sentence is cited and shown like any citation
        assert 'id="src-1-1"' in html and "<mark>" in html
    update = app.create_app(a).fns  # the page builds with the topic chips wired
    assert update


def test_create_app_builds_without_launching(script_index, hash_embedder, tmp_path):
    import gradio as gr

    demo = app.create_app(Answerer(script_index, hash_embedder), data_dir=tmp_path)
    assert isinstance(demo, gr.Blocks)
    names = {getattr(fn, "api_name", None) for fn in demo.fns.values()}
    assert {"ask", "cases"} <= names


def test_render_cases_highlights_terms_and_escapes():
    from qa.cases import CaseResult

    c = CaseResult("<b>标题</b>", "滨江市总工会", "新闻速递", "x.txt", "追回欠薪58万元<i>", 1, 9, "追回欠薪58万元<i>", 1.0, 0)
    html = app.render_cases([c], "欠薪")
    assert "<mark>欠薪</mark>" in html and "&lt;b&gt;" in html and "<i>" not in html


def test_feedback_log_appends_jsonl(tmp_path):
    fb = app.FeedbackLog(tmp_path)
    for vote in ("up", "down"):
        fb.record({"question": "q", "answer": "a", "citations": [], "vote": vote, "time": "t"}).join(5)
    rows = [json.loads(x) for x in (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["vote"] for r in rows] == ["up", "down"]


def test_turns_strip_markup():
    hist = [{"role": "user", "content": "江宁区呢?"}, {"role": "assistant", "content": '答案<a class="cite" href="#src-1">[1]</a>'}]
    assert app._turns(hist)[1]["content"] == "答案[1]"
