"""The command line: help, ask --json schema, exit codes for bad input, eval output."""

import json
import subprocess
import sys

import pytest

from qa.cli import main

from .conftest import ROOT


@pytest.fixture
def built(tiny_dir, tmp_path, capsys):
    idx = tmp_path / "idx"
    assert main(["index", "--source", str(tiny_dir), "--index", str(idx), "--model", "hash-128", "-q"]) == 0
    capsys.readouterr()
    return idx


def test_help_is_fast_and_needs_no_heavy_imports():
    code = ("import sys; from qa.cli import build_parser; build_parser();"
            "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'gradio') if m in sys.modules];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
    for sub in ("index", "ask", "eval", "fetch-model"):
        r = subprocess.run([sys.executable, "-m", "qa", sub, "--help"], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0 and "usage" in r.stdout


def test_ask_json_schema(built, capsys):
    assert main(["ask", "--index", str(built), "--json", "-k", "3", "职工书屋有多少册书?"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    for key in ("question", "answer", "refused", "citations", "passages", "timings_ms"):
        assert key in d
    assert len(d["passages"]) == 3
    assert set(d["passages"][0]) == {"rank", "retrieved_rank", "score", "source", "title", "column", "start", "end", "text"}
    assert set(d["timings_ms"]) == {"embed", "read", "search", "answer", "total"}
    for c in d["citations"]:
        assert {"n", "source", "title", "start", "end", "text"} <= set(c)
        assert f"[{c['n']}]" in d["answer"]


def test_ask_file_gives_one_json_line_per_question(built, tmp_path, capsys):
    f = tmp_path / "qs.txt"
    f.write_text("职工书屋有多少册书?\n\n货车司机之家在哪里?\n", encoding="utf-8")
    assert main(["ask", "--index", str(built), "--json", "--file", str(f)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [r["question"] for r in rows] == ["职工书屋有多少册书?", "货车司机之家在哪里?"]


@pytest.mark.parametrize("args,msg", [
    (["ask", "   "], "empty"),
    (["ask", "问" * 2001], "limit is 2000"),
    (["ask", "--file", "/nonexistent/qs.txt"], "no such file"),
    (["ask"], "no question"),
])
def test_bad_questions_exit_2_with_a_clear_message(built, capsys, args, msg):
    assert main([*args, "--index", str(built)]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_missing_index_exits_1_with_rebuild_hint(tmp_path, capsys):
    assert main(["ask", "--index", str(tmp_path / "none"), "工会"]) == 1
    assert "python -m qa index" in capsys.readouterr().err


def test_eval_prints_metrics(built, tmp_path, capsys):
    f = tmp_path / "dev.jsonl"
    f.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "1", "kind": "worker", "q": "职工书屋有多少册书?", "gold": ["藏书3000册"], "facts": ["3000册"]},
        {"id": "2", "kind": "unanswerable", "q": "量子计算机的原理是什么?", "gold": [], "facts": []},
    ]), encoding="utf-8")
    assert main(["eval", str(f), "--index", str(built), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["n_answerable"] == 1 and rep["n_unanswerable"] == 1
    assert rep["hit5"] == 1.0
    assert 0.0 <= rep["mrr"] <= 1.0 and "fact_recall" in rep and "refusal_accuracy" in rep
    # the refusal trade-off, as JSON too (its counts had been numpy integers json cannot write)
    assert main(["eval", str(f), "--index", str(built), "--json", "--curve"]) == 0
    curve = json.loads(capsys.readouterr().out)["tradeoff"]
    assert curve and all(c["answerable_refused"] in (0, 1) and c["unanswerable_refused"] in (0, 1) for c in curve)
    assert [c["threshold"] for c in curve] == sorted(c["threshold"] for c in curve)
    assert main(["eval", str(f), "--index", str(built), "--curve"]) == 0
    assert "threshold" in capsys.readouterr().out


def test_eval_asks_a_follow_up_after_its_earlier_questions_were_answered():
    """``ask_all`` replays a conversation as the page has it: each earlier question asked in turn with
    the answers before it, each asked once for all the follow-ups that share it."""
    from types import SimpleNamespace

    from qa.evaluate import EvalItem, ask_all

    class Recorder:  # an answerer that answers with the number of the call
        def __init__(self):
            self.calls = []

        def ask(self, q, history, **kw):
            self.calls.append((q, [t["content"] for t in history], kw))
            return SimpleNamespace(text=f"答{len(self.calls)}")

    items = [EvalItem("1", "worker", "a", (), ()), EvalItem("2", "worker", "c", (), (), ("a", "b")),
             EvalItem("3", "worker", "d", (), (), ("a", "b"))]
    rec = Recorder()
    answers = ask_all(rec, items, k=3)
    assert [a.text for a in answers] == ["答1", "答4", "答5"]
    assert rec.calls == [("a", [], {"k": 3}), ("a", [], {"k": 3}), ("b", ["a", "答2"], {"k": 3}),
                         ("c", ["a", "答2", "b", "答3"], {"k": 3}), ("d", ["a", "答2", "b", "答3"], {"k": 3})]


def test_eval_rejects_malformed_file(built, tmp_path, capsys):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"kind": "boss", "q": "x"}\n', encoding="utf-8")
    assert main(["eval", str(f), "--index", str(built)]) == 2
    assert "kind" in capsys.readouterr().err


def test_ask_lists_the_cited_passage_first_and_says_where_retrieval_put_it(built, capsys):
    # the hash model ranks the 滨江 report below the 江宁 one; the answer cites the 滨江 sentence
    assert main(["ask", "--index", str(built), "滨江追回了多少工资"]) == 0
    listed = capsys.readouterr().out.split("检索到的段落（答案引用的在前）：")[1].splitlines()
    assert listed[1].lstrip().startswith("1. (") and "检索第" in listed[1] and "滨江" in listed[1]


def test_ask_names_an_untitled_fragment_as_such(tmp_path, capsys):
    """A passage of an article without a title (a photo caption) is listed as （无题）, not as 《》."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "p.txt").write_text("\n\n图说新闻\n\n近日,东湖县总工会组织劳模工匠走进企业,为职工讲授焊接技术。\n\n张三 摄\n",
                                encoding="utf-8")
    idx = tmp_path / "idx"
    assert main(["index", "--source", str(docs), "--index", str(idx), "--model", "hash-128", "-q"]) == 0
    capsys.readouterr()
    assert main(["ask", "--index", str(idx), "东湖县劳模工匠走进企业讲了什么"]) == 0
    out = capsys.readouterr().out
    assert "《》" not in out and "（无题）" in out.split("检索到的段落")[1]
