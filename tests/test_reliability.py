"""Reliability probes (issue 10): exports, disk bounds, odd strings, HTTP guard, errors.  Each test
failed before the fix it holds."""

import csv
import io
import json
import os
import sys
import time

import pytest

from qa.answer import Answerer
from qa.answerability import AnswerabilityModel
from qa.cases import CaseResult
from qa.errors import BadIndexError
from qa.exports import ExportFolder, to_csv, to_markdown
from qa.feedback import FeedbackLog

from .conftest import ROOT

sys.path.insert(0, str(ROOT))
import app  # noqa: E402

EVIL = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _case(text: str) -> CaseResult:
    return CaseResult(text, text, "新闻", "a.txt", text, 3, 9, text, 1.0, 0)


@pytest.mark.parametrize("text", EVIL)
def test_csv_cells_never_start_a_formula(text):
    rows = list(csv.DictReader(io.StringIO(to_csv([_case(text)]))))
    for field in ("title", "place", "sentence"):
        assert rows[0][field] == "'" + text and not rows[0][field].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert rows[0]["start"] == "3"  # numbers stay numbers


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "a|b\nc"])
def test_markdown_export_escapes_html_in_cells_and_heading(text):
    md = to_markdown([_case(text)], query=text)
    assert "<script>" not in md and "<img" not in md and "\nc" not in md
    assert md.startswith("# 案例：") and md.count("\n| 1 |") == 1


def test_export_folder_is_pruned_by_count_and_age(tmp_path):
    ex = ExportFolder(tmp_path / "exports", max_exports=3, max_age_s=3600)
    paths = [ex.write({"cases.csv": ("x", "utf-8")})["cases.csv"] for _ in range(7)]
    assert len(ex.folders()) == 3 and all(p.exists() for p in paths[-3:]) and not paths[0].exists()
    old = ex.folders()[0]
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert ex.prune() == 1 and old not in ex.folders()
    with pytest.raises(ValueError):
        ExportFolder(tmp_path, max_exports=0)


@pytest.fixture
def small_answerer(tmp_path, hash_embedder):
    from qa.index import build_index, load_index

    d = tmp_path / "src"
    d.mkdir()
    (d / "a.txt").write_text("讨薪案例\n\n本刊讯 =HYPERLINK(\"http://x\") 县总工会帮职工追回欠薪58万元。\n", encoding="utf-8")
    (d / "b.txt").write_text("司机之家\n\n本刊讯 货车司机之家有淋浴间。\n", encoding="utf-8")
    build_index([d], tmp_path / "idx", hash_embedder, progress=False, log=lambda *_: None)
    return Answerer(load_index(tmp_path / "idx"), hash_embedder, answerability=AnswerabilityModel.always())


def _fn(demo, name):
    return next(f.fn for f in demo.fns.values() if getattr(f, "api_name", None) == name)


def test_case_searches_from_the_page_keep_a_bounded_export_folder(small_answerer, tmp_path):
    ex = ExportFolder(tmp_path / "exports", max_exports=4)
    search = _fn(app.create_app(small_answerer, data_dir=tmp_path, exports=ex), "cases")
    for i in range(12):
        out = search(f"讨薪 {i}", [], [], [])
    assert len(ex.folders()) <= 4
    csv_path = out[2]["value"]
    assert str(ex.root) in csv_path and "'=HYPERLINK" in open(csv_path, encoding="utf-8-sig").read()


@pytest.mark.parametrize("q", ["工资\ud800?", "\ud800", "欠薪\x00咋办", "\udfff\ud800讨薪"])
def test_lone_surrogates_and_nul_never_break_the_answer_stream(small_answerer, tmp_path, q):
    import gradio as gr

    demo = app.create_app(small_answerer, data_dir=tmp_path, exports=ExportFolder(tmp_path / "ex"))
    respond, search = _fn(demo, "ask"), _fn(demo, "cases")
    try:
        for out in respond(q, [], []):
            json.dumps(out[0], ensure_ascii=False).encode("utf-8")  # what the event stream sends
    except gr.Error:
        pass  # a clear message (nothing left after cleaning) is fine; a crash is not
    res = search(q, [], [], [])
    json.dumps(res[:2], ensure_ascii=False).encode("utf-8")


def test_the_answer_stream_never_sends_a_prop_update_to_the_sources_html(small_answerer, tmp_path):
    """Gradio 6 keeps every HTML block it builds for gr.skip()/gr.update on an HTML output (a soak
    showed RSS rising ~13 KB per question); the stream sends strings to the sources panel instead."""
    respond = _fn(app.create_app(small_answerer, data_dir=tmp_path, exports=ExportFolder(tmp_path / "ex")), "ask")
    outs = list(respond("欠薪怎么办", [], []))
    assert outs and all(isinstance(out[1], str) for out in outs)
    import gradio as gr

    with pytest.raises(gr.Error, match="请先输入问题"):  # empty input (API callers): a clear error, nothing built
        list(respond("  ", [], []))


def test_an_extractive_answer_is_sent_once_whole(small_answerer, tmp_path):
    """An extractive answer is finished before its first piece: the page sends it in one message
    (under load each piece was a postprocess of the whole chat and an event-stream message)."""
    assert not small_answerer.writes_in_pieces
    respond = _fn(app.create_app(small_answerer, data_dir=tmp_path, exports=ExportFolder(tmp_path / "ex")), "ask")
    outs = list(respond("县总工会帮职工追回多少欠薪?", [], []))
    assert len(outs) == 1
    chat, sources = outs[0][0], outs[0][1]
    assert "58万元" in chat[-1]["content"] and "[1]" in chat[-1]["content"] and "58万元" in sources


def test_a_huge_history_is_cut_to_the_last_turns():
    history = [{"role": "user", "content": "问" * 5000}] * 10_000
    turns = app.prior_turns(history)
    assert len(turns) == app.MAX_TURNS and all(len(t["content"]) <= 2000 for t in turns)


def test_a_long_session_keeps_a_bounded_state_and_votes_still_find_their_answer():
    answers = []
    for i in range(app.KEPT_ANSWERS + 10):
        answers = app.remember(answers, {"question": f"问{i}"})
    kept = [a for a in answers if a is not None]
    assert len(kept) == app.KEPT_ANSWERS and answers[-1]["question"] == f"问{app.KEPT_ANSWERS + 9}"
    assert answers[10]["question"] == "问10" and answers[9] is None  # positions unchanged for votes
    assert app.guarded_launch_options()["state_session_capacity"] == app.SESSIONS


def test_feedback_is_rate_limited_per_client(tmp_path):
    fb = FeedbackLog(tmp_path, per_minute=5)
    threads = [fb.record({"q": i}, client="a") for i in range(12)] + [fb.record({"q": "b"}, client="b")]
    for t in threads:
        if t is not None:
            t.join()
    rows = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 6 and fb.dropped == 7


def test_feedback_log_rotates_at_its_size_cap(tmp_path):
    fb = FeedbackLog(tmp_path, per_minute=10_000, max_bytes=4096, keep=3, max_entry_chars=100)
    for i in range(400):
        t = fb.record({"question": "问" * 500, "i": i}, client=str(i))
        t.join()
    files = fb.files()
    assert len(files) == 3 and all(f.stat().st_size <= 4096 for f in files)
    last = json.loads(files[0].read_text(encoding="utf-8").splitlines()[-1])
    assert last["i"] == 399 and len(last["question"]) <= 101


def _guarded(**kw):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from qa.http_guard import GuardMiddleware

    async def ok(request):
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/", ok), Route("/gradio_api/upload", ok, methods=["POST"])],
                      middleware=[Middleware(GuardMiddleware, **kw)])
    return TestClient(inner)


def test_guard_refuses_unknown_hosts_and_uploads_and_forbids_framing():
    c = _guarded(allowed_hosts={"qa.example.org", "127.0.0.1"})
    assert c.get("/", headers={"host": "evil.example.com"}).status_code == 421
    r = c.get("/", headers={"host": "qa.example.org:7860"})
    assert r.status_code == 200 and r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert c.post("/gradio_api/upload", headers={"host": "127.0.0.1"}, files={"files": ("a.txt", b"x" * 10)}).status_code == 403
    open_ = _guarded()  # no allow-list: every host, still no uploads
    assert open_.get("/", headers={"host": "anything"}).status_code == 200
    assert open_.post("/gradio_api/upload").status_code == 403


def test_allowed_hosts_are_read_from_the_environment():
    from qa.http_guard import allowed_hosts_from_env

    assert allowed_hosts_from_env(" QA.example.org , 127.0.0.1,,") == {"qa.example.org", "127.0.0.1"}
    assert allowed_hosts_from_env("") == frozenset()
    opts = app.guarded_launch_options("a.org")
    assert opts["max_file_size"] and opts["app_kwargs"]["middleware"]


def test_every_error_carries_an_exit_code_and_the_cli_uses_it(tmp_path, capsys):
    from qa import errors
    from qa.cli import main

    kinds = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.QAError)]
    assert len(kinds) >= 7 and all(isinstance(c.exit_code, int) and c.exit_code > 0 for c in kinds)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    assert main(["ask", "工资", "--index", str(tmp_path)]) == errors.BadIndexError.exit_code
    assert "error:" in capsys.readouterr().err


# ---------------------------------------------------------------- index and sources

def test_the_printed_repair_command_keeps_the_sources_the_index_was_built_from(tiny_dir, tmp_path, capsys):
    from qa.cli import main
    from qa.index import load_index

    idx = tmp_path / "idx"
    assert main(["index", "--source", str(tiny_dir), "--index", str(idx), "--model", "hash-128", "-q"]) == 0
    (tiny_dir / "z_new.txt").write_text("新的一期\n\n本刊讯 县总工会为环卫工人送清凉。\n", encoding="utf-8")
    assert main(["index", "--source", str(tiny_dir), "--index", str(idx), "--model", "hash-128", "-q"]) == 0
    delta = next(idx.glob("delta-*"))
    (delta / "chunks.jsonl").write_text("garbage", encoding="utf-8")  # a damaged delta
    capsys.readouterr()
    assert main(["ask", "环卫工人", "--index", str(idx)]) == 1
    err = capsys.readouterr().err
    assert f"--source {tiny_dir.resolve()}" in err
    # run as printed (no --source): rebuilt from the recorded folder, not from seeds/
    assert main(["index", "--index", str(idx), "--model", "hash-128", "-q"]) == 0
    names = {s.partition("#")[0].rsplit("/", 1)[-1] for s in load_index(idx).manifest["sources"]}
    assert "z_new.txt" in names and len(names) == len(list(tiny_dir.glob("*.txt")))


def test_leftovers_of_killed_builds_are_removed_by_the_next_build(tiny_dir, tmp_path, hash_embedder):
    from qa.index import build_index

    idx = tmp_path / "idx"
    build_index([tiny_dir], idx, hash_embedder, progress=False, log=lambda *_: None)
    (idx / ".manifest.json.tmp-99999").write_text("{}", encoding="utf-8")
    (tmp_path / ".idx.old-99999").mkdir()
    (tmp_path / ".idx.tmp-99999").mkdir()
    build_index([tiny_dir], idx, hash_embedder, progress=False, log=lambda *_: None)
    assert not list(idx.glob(".manifest.json.tmp-*")) and not list(tmp_path.glob(".idx.*-99999"))


class CountingEmbedder:
    """The embedder interface, counting what it is asked to embed (a test fake, no private names)."""

    def __init__(self):
        from qa.embed import HashEmbedder

        self.inner, self.calls = HashEmbedder(64), 0
        self.model_id, self.fingerprint, self.dim = self.inner.model_id, self.inner.fingerprint, self.inner.dim

    def __getattr__(self, name):
        fn = getattr(self.inner, name)

        def counted(*a, **kw):
            self.calls += 1
            return fn(*a, **kw)
        return counted if callable(fn) else fn


def _read_only_place(tmp_path):
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro / "idx"
    return __import__("pathlib").Path("/sys/qa-test-index")  # root ignores modes; sysfs refuses new files


def test_a_read_only_index_place_fails_before_any_embedding(tiny_dir, tmp_path):
    from qa.errors import IndexWriteError
    from qa.index import build_index

    target = _read_only_place(tmp_path)
    emb = CountingEmbedder()
    with pytest.raises(IndexWriteError, match="cannot write"):
        build_index([tiny_dir], target, emb, progress=False, log=lambda *_: None)
    assert emb.calls == 0 and IndexWriteError.exit_code == 1


def test_symlinks_leaving_the_folder_and_oversized_files_are_skipped_with_a_warning(tmp_path, monkeypatch):
    from qa.sources import SourceWarning, discover

    d = tmp_path / "src"
    d.mkdir()
    (d / "a.txt").write_text("正文", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0", encoding="utf-8")
    (d / "leak.txt").symlink_to(outside)
    (d / "inside.txt").symlink_to(d / "a.txt")  # inside the folder: the same file, kept once
    (d / "loop").symlink_to(d, target_is_directory=True)
    (d / "big.txt").write_bytes(b"x" * (2 * 2**20))
    monkeypatch.setenv("QA_MAX_SOURCE_MB", "1")
    with pytest.warns(SourceWarning) as caught:
        found = discover([d])
    msgs = " ".join(str(w.message) for w in caught)
    assert [p.name for p in found] == ["a.txt"]
    assert "leak.txt" in msgs and "leaving" in msgs and "big.txt" in msgs and "QA_MAX_SOURCE_MB" in msgs
    assert "loop" in msgs and "not followed" in msgs


def _damage(f):
    data = f.read_bytes()
    f.write_bytes(data[:-8] + bytes(b ^ 0x55 for b in data[-8:]))  # same size, wrong bytes: only the checksum sees it


# file damaged -> which segment's chunks (C) and sentences (S) must be embedded again
REPAIRS = [("delta-001/index.faiss", "C", "delta-001"), ("delta-001/sentences.npy", "S", "delta-001"),
           ("delta-001/chunks.jsonl", "CS", "delta-001"), ("index.faiss", "C", ""),
           ("sentences.jsonl", "S", ""), ("bm25/terms.json", "", ""), ("sources.jsonl", "", ""),
           ("delta-001/sources.jsonl", "", "delta-001"), ("background.npy", "", "")]


@pytest.mark.parametrize("rel,parts,seg", REPAIRS)
def test_a_repair_re_embeds_only_what_the_damaged_file_held(tiny_dir, tmp_path, counting_embedder, rel, parts, seg):
    from qa.index import build_index, load_index

    out = tmp_path / "idx"
    quiet = {"progress": False, "log": lambda *_: None}
    base = build_index([tiny_dir], out, counting_embedder, **quiet)
    (tiny_dir / "e.txt").write_text("新公报\n\n本刊讯 东山区总工会开展送清凉活动，为一线职工送去清凉饮品。"
                                    "活动共走访企业十二家。\n", encoding="utf-8")
    both = build_index([tiny_dir], out, counting_embedder, **quiet)
    sizes = {"": (base.chunks, base.sentences), "delta-001": (both.chunks - base.chunks,
                                                               both.sentences - base.sentences)}
    _damage(out / rel)
    with pytest.raises(BadIndexError, match="corrupt"):
        load_index(out)
    before = counting_embedder.documents
    rep = build_index([tiny_dir], out, counting_embedder, **quiet)
    expected = ("C" in parts) * sizes[seg][0] + ("S" in parts) * sizes[seg][1]
    assert rep.mode == "full" and rep.embedded == expected == counting_embedder.documents - before
    assert rep.reused == both.chunks + both.sentences - expected
    idx = load_index(out)
    assert len(idx.chunks) == both.chunks and len(idx.sentences) == both.sentences


def test_a_lost_manifest_re_embeds_everything(tiny_dir, tmp_path, counting_embedder):
    """No manifest, no record of which model made the vectors: nothing is trusted."""
    from qa.index import build_index

    out = tmp_path / "idx"
    quiet = {"progress": False, "log": lambda *_: None}
    first = build_index([tiny_dir], out, counting_embedder, **quiet)
    (out / "manifest.json").write_text("{garbled", encoding="utf-8")
    rep = build_index([tiny_dir], out, counting_embedder, **quiet)
    assert rep.embedded == first.chunks + first.sentences and rep.reused == 0


def test_the_soak_report_counts_errors_and_latency_per_minute():
    from qa.soak import Event, summarise, table

    events = [Event(5, "ask", 1.0), Event(30, "ask", 3.0), Event(50, "vote", 0.1, "HTTP 500"),
              Event(70, "cases", 2.0), Event(100, "ask", 4.0)]
    samples = [{"minute": m, "rss_mb": 1000.0 + m, "data_kb": 1, "exports_kb": 2, "gradio_kb": 3, "index_kb": 4}
               for m in (1, 2)]
    rep = summarise(2, 3, events, samples, {"exit_code": 0}, 1010.0)
    m1, m2 = rep["per_minute"]
    assert (m1["ops"], m1["errors"], m1["p50_s"], m1["p95_s"]) == (3, 1, 1.0, 3.0)  # the failed vote has no latency
    assert (m2["ops"], m2["errors"], m2["p50_s"]) == (2, 0, 2.0)
    assert rep["errors"] == 1 and rep["error_examples"] == ["vote at 50s: HTTP 500"]
    assert rep["by_op"]["ask"] == {"n": 3, "errors": 0, "p50_s": 3.0, "p95_s": 4.0}
    assert "| 2 | 2 | 0 | 2.00 |" in table(rep)


@pytest.mark.parametrize("minutes,clients", [(0, 20), (-1, 20), (5, 0)])
def test_the_soak_refuses_nonsense_arguments(minutes, clients):
    from qa.soak import run_soak

    with pytest.raises(ValueError, match="--soak needs"):
        run_soak(minutes, "indexes/none", clients=clients)
