"""Chunks (offsets, sizes) and the index folder (manifest, incremental updates, atomic writes, errors)."""

import json
import os

import numpy as np
import pytest

from qa.articles import LABELS, starts_mid_sentence
from qa.chunks import chunk_documents
from qa.index import BadIndexError, build_index, load_index
from qa.sources import load_documents

from .conftest import SEEDS


def test_chunks_round_trip_to_source_offsets_on_all_seeds():
    docs = load_documents([SEEDS])
    texts = {d.source: d.text for d in docs}
    chunks = chunk_documents(docs, chunk_size=200, chunk_overlap=40)
    assert len({c.id for c in chunks}) == len(chunks)
    joins = 0
    for c in chunks:
        src = texts[c.source]
        assert "".join(src[s:e] for s, e in c.spans) == c.text
        assert (c.start, c.end) == (c.spans[0][0], c.spans[-1][1])
        if len(c.spans) == 1:
            assert src[c.start:c.end] == c.text
        else:
            joins += 1
            for a, b in zip(c.spans, c.spans[1:]):  # only layout sits between the pieces, or the
                # report goes on after other items (a fragment starting mid-sentence, reattached)
                gap = src[a[1]:b[0]].strip()
                assert not gap or gap in LABELS or (b[0] > a[1] and starts_mid_sentence(src[b[0]:b[0] + 60]))
        assert len(c.text) <= 200
    assert joins > 0  # repaired paragraphs and paragraph breaks are exercised


def test_chunk_ids_are_stable():
    docs = load_documents([SEEDS])
    a = [c.id for c in chunk_documents(docs)]
    b = [c.id for c in chunk_documents(docs)]
    assert a == b


@pytest.mark.parametrize("size,overlap", [(10, 0), (100, 100), (100, -1)])
def test_bad_chunk_settings_are_rejected(size, overlap):
    with pytest.raises(ValueError, match="chunk"):
        chunk_documents(load_documents([SEEDS]), chunk_size=size, chunk_overlap=overlap)


def test_index_folder_is_plain_files(tiny_index):
    p = tiny_index.path
    names = sorted(os.listdir(p))
    assert {"index.faiss", "chunks.jsonl", "manifest.json", "sources.jsonl", "sentences.jsonl", "sentences.npy",
            "bm25", "background.npy", "domain.npy"} <= set(names)
    assert not list(p.rglob("*.pkl")) and not list(p.rglob("*.pickle"))
    m = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
    assert m["segments"] == [""] and set(m["files"]) == set(m["sizes"])
    assert m["format"] == 3 and m["model"]["id"] == "hash-128" and m["model"]["dim"] == 128
    assert m["counts"]["chunks"] == len(tiny_index.chunks) > 0
    assert len(m["sources"]) == 4 and all(len(v["sha256"]) == 64 for v in m["sources"].values())
    line = (p / "chunks.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert "工会" in line or "货车" in line or "书屋" in line  # readable UTF-8, not \\u escapes


def test_incremental_update_embeds_only_what_changed(tiny_dir, tmp_path, counting_embedder):
    out = tmp_path / "idx"
    r1 = build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None)
    first = counting_embedder.documents
    assert r1.embedded == first > 0
    # nothing changed: nothing embedded
    r2 = build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None)
    assert counting_embedder.documents == first and r2.embedded == 0 and r2.unchanged == 4
    assert r2.mode == "unchanged"
    # add one bulletin: only its chunks and sentences
    (tiny_dir / "e_new.txt").write_text("新增公报\n\n本刊讯 东山区总工会开展送清凉活动,慰问一线职工500人。\n", encoding="utf-8")
    before = counting_embedder.documents
    r3 = build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None)
    assert len(r3.added) == 1 and r3.added[0].endswith("e_new.txt") and r3.mode == "append"
    idx = load_index(out)
    new_items = sum(1 for c in idx.chunks if c.source.endswith("e_new.txt")) + \
        sum(1 for s in idx.sentences if s.source.endswith("e_new.txt"))
    assert counting_embedder.documents - before == new_items
    # change one, remove one
    (tiny_dir / "d_skills.txt").write_text("技能大赛\n\n本刊讯 北岸区总工会举办电工技能比武,共有30支队伍参赛。\n", encoding="utf-8")
    (tiny_dir / "c_books.txt").unlink()
    r4 = build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None)
    assert [s.rsplit("/", 1)[-1] for s in r4.changed] == ["d_skills.txt"]
    assert [s.rsplit("/", 1)[-1] for s in r4.removed] == ["c_books.txt"]
    assert r4.mode == "full" and not list(out.glob("delta-*"))  # rewritten as one base segment
    idx = load_index(out)
    assert not any(c.source.endswith("c_books.txt") for c in idx.chunks)
    assert 0 < r4.embedded < r4.chunks + r4.sentences


def test_a_crash_while_writing_leaves_the_previous_index(tiny_dir, tmp_path, hash_embedder, monkeypatch):
    out = tmp_path / "idx"
    build_index([tiny_dir], out, hash_embedder, progress=False, log=lambda *_: None)
    before = (out / "manifest.json").read_bytes()
    (tiny_dir / "e.txt").write_text("新公报\n\n本刊讯 测试。\n", encoding="utf-8")
    import qa.segments

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(qa.segments, "write_jsonl", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        build_index([tiny_dir], out, hash_embedder, progress=False, log=lambda *_: None)
    assert (out / "manifest.json").read_bytes() == before
    assert load_index(out).chunks
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_interrupted_swap_is_recovered(tiny_index, tmp_path):
    p = tiny_index.path
    old = p.parent / f".{p.name}.old-12345"
    os.replace(p, old)  # as if killed between the two renames
    assert load_index(p).chunks


def test_model_mismatch_is_a_clear_error(tiny_index):
    from qa.embed import HashEmbedder
    from qa.retrieve import Retriever

    with pytest.raises(BadIndexError, match="built with model hash-128.*rebuild"):
        Retriever(tiny_index, HashEmbedder(64))


@pytest.mark.parametrize("damage", ["truncate_faiss", "garble_chunks", "drop_manifest", "bad_format"])
def test_corrupt_index_is_detected(tiny_index, damage):
    p = tiny_index.path
    if damage == "truncate_faiss":
        data = (p / "index.faiss").read_bytes()
        (p / "index.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "garble_chunks":
        with open(p / "chunks.jsonl", "a", encoding="utf-8") as f:
            f.write("{broken\n")
    elif damage == "drop_manifest":
        (p / "manifest.json").unlink()
    else:
        m = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
        m["format"] = 999
        (p / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(BadIndexError, match="python -m qa index"):
        load_index(p)


def test_no_documents_is_an_error(tmp_path, hash_embedder):
    (tmp_path / "src").mkdir()
    with pytest.raises(BadIndexError, match="no readable documents"):
        build_index([tmp_path / "src"], tmp_path / "idx", hash_embedder, progress=False, log=lambda *_: None)


def test_sentence_vectors_align(tiny_index):
    assert tiny_index.sentence_vectors.shape == (len(tiny_index.sentences), 128)
    assert tiny_index.sentence_vectors.dtype == np.float16
    for s in tiny_index.sentences:
        src = tiny_index.texts[s.source]
        assert "".join(src[a:b] for a, b in s.spans) == s.text


def test_killed_build_resumes_from_checkpoint(tiny_dir, tmp_path, counting_embedder, monkeypatch):
    from qa.build_items import Checkpoint

    monkeypatch.setattr(Checkpoint, "EVERY", 4)  # 13 items → parts of 4, 4, 4, 1
    out = tmp_path / "idx"
    calls = {"n": 0}
    real = counting_embedder.encode_documents

    def dying(texts, titles=None, progress=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(texts, titles, progress)

    monkeypatch.setattr(counting_embedder, "encode_documents", dying)
    with pytest.raises(KeyboardInterrupt):
        build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None)
    assert list((tmp_path / ".idx.partial").glob("part-*.json"))
    monkeypatch.setattr(counting_embedder, "encode_documents", real)
    before = counting_embedder.documents
    rep = build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None)
    assert counting_embedder.documents - before == rep.chunks + rep.sentences - 8  # two parts of 4 reused
    assert not (tmp_path / ".idx.partial").exists()
    fresh = tmp_path / "fresh"
    from qa.embed import HashEmbedder

    build_index([tiny_dir], fresh, HashEmbedder(128), progress=False, log=lambda *_: None)
    assert np.allclose(load_index(out).vectors(), load_index(fresh).vectors())


# ---------------------------------------------------------------- delta segments

def _quiet(**kw):
    return dict(progress=False, log=lambda *_: None, **kw)


def _by_id(idx, scores):
    return {c.id: round(float(x), 4) for c, x in zip(idx.chunks, scores)}


def test_appended_segment_scores_as_if_built_at_once(tiny_dir, tmp_path, hash_embedder):
    from qa.retrieve import Retriever

    held = tmp_path / "held"
    held.mkdir()
    (tiny_dir / "d_skills.txt").rename(held / "d_skills.txt")
    out = tmp_path / "idx"
    build_index([tiny_dir], out, hash_embedder, **_quiet())
    (held / "d_skills.txt").rename(tiny_dir / "d_skills.txt")
    rep = build_index([tiny_dir], out, hash_embedder, **_quiet())
    assert rep.mode == "append" and rep.added[0].endswith("d_skills.txt") and (out / "delta-001").is_dir()
    once = tmp_path / "once"
    build_index([tiny_dir], once, hash_embedder, **_quiet())
    a, b = load_index(out), load_index(once)
    assert a.manifest["segments"] == ["", "delta-001"] and b.manifest["segments"] == [""]
    assert sorted(c.id for c in a.chunks) == sorted(c.id for c in b.chunks)
    assert a.manifest["counts"] == b.manifest["counts"] and a.manifest["sources"] == b.manifest["sources"]
    assert a.manifest["corpus_fingerprint"] == b.manifest["corpus_fingerprint"]
    for key in ("background_mean", "background_std", "background_max"):
        assert a.manifest["calibration"][key] == pytest.approx(b.manifest["calibration"][key], abs=1e-5)
    for q in (["焊工", "技能", "比武"], ["工资", "欠薪"], ["货车", "司机", "休息"]):
        assert _by_id(a, a.bm25.get_scores(q)) == _by_id(b, b.bm25.get_scores(q))
        assert a.idf(q) == pytest.approx(b.idf(q))
    va = dict(zip((c.id for c in a.chunks), a.vectors()))
    assert all(np.allclose(va[c.id], v) for c, v in zip(b.chunks, b.vectors()))
    for q in ("焊工技能比武有多少队伍?", "货车司机在哪休息?"):
        ha, hb = Retriever(a, hash_embedder).search(q, k=3), Retriever(b, hash_embedder).search(q, k=3)
        assert [h.chunk.id for h in ha] == [h.chunk.id for h in hb]
        assert [h.score for h in ha] == pytest.approx([h.score for h in hb])


def test_bm25_matches_the_formula(tiny_index):
    import math

    docs = [tiny_index.tokens_of(c) for c in tiny_index.chunks]
    n, avg = len(docs), sum(map(len, docs)) / len(docs)
    q = ["工会", "工资", "工资", "书屋", "不存在的词"]

    def reference(doc):
        total = 0.0
        for t in q:
            df = sum(1 for d in docs if t in d)
            tf = doc.count(t)
            if tf:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                total += idf * tf / (tf + 1.5 * (0.25 + 0.75 * len(doc) / avg))
        return total

    assert tiny_index.bm25.get_scores(q) == pytest.approx([reference(d) for d in docs], rel=1e-5)


def test_a_crash_while_appending_leaves_the_previous_index(tiny_dir, tmp_path, hash_embedder, monkeypatch):
    import qa.segments

    out = tmp_path / "idx"
    build_index([tiny_dir], out, hash_embedder, **_quiet())
    before = (out / "manifest.json").read_bytes()
    (tiny_dir / "e.txt").write_text("新公报\n\n本刊讯 东山区总工会开展送清凉活动。\n", encoding="utf-8")
    real = qa.segments.write_manifest

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(qa.segments, "write_manifest", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        build_index([tiny_dir], out, hash_embedder, **_quiet())
    assert (out / "manifest.json").read_bytes() == before
    assert not [p for p in out.iterdir() if "delta" in p.name]
    assert len(load_index(out).manifest["sources"]) == 4
    # a delta folder left by a kill between its rename and the manifest is not served, and goes
    (out / "delta-001").mkdir()
    (out / "delta-001" / "chunks.jsonl").write_text("{broken\n", encoding="utf-8")
    assert len(load_index(out).manifest["sources"]) == 4
    monkeypatch.setattr(qa.segments, "write_manifest", real)
    rep = build_index([tiny_dir], out, hash_embedder, **_quiet())
    assert rep.mode == "append" and len(load_index(out).manifest["sources"]) == 5


def test_deltas_are_merged_after_max_deltas(tiny_dir, tmp_path, hash_embedder):
    out = tmp_path / "idx"
    build_index([tiny_dir], out, hash_embedder, **_quiet())
    modes = []
    for i in range(3):
        (tiny_dir / f"new{i}.txt").write_text(f"第{i}期\n\n本刊讯 第{i}个新区总工会开展活动,慰问职工{i + 10}人。\n",
                                               encoding="utf-8")
        modes.append(build_index([tiny_dir], out, hash_embedder, max_deltas=2, **_quiet()))
    assert [r.mode for r in modes] == ["append", "append", "full"]
    assert modes[-1].embedded == modes[-1].chunks + modes[-1].sentences - modes[1].chunks - modes[1].sentences
    idx = load_index(out)
    assert idx.manifest["segments"] == [""] and len(idx.manifest["sources"]) == 7
    assert not list(out.glob("delta-*"))


def test_damaged_delta_is_detected_and_the_next_build_repairs_it(tiny_dir, tmp_path, hash_embedder):
    out = tmp_path / "idx"
    build_index([tiny_dir], out, hash_embedder, **_quiet())
    (tiny_dir / "e.txt").write_text("新公报\n\n本刊讯 东山区总工会开展送清凉活动。\n", encoding="utf-8")
    build_index([tiny_dir], out, hash_embedder, **_quiet())
    f = out / "delta-001" / "index.faiss"
    data = f.read_bytes()
    f.write_bytes(data[:-8] + b"\0" * 8)  # same size, wrong bytes
    with pytest.raises(BadIndexError, match="delta-001/index.faiss is corrupt.*python -m qa index"):
        load_index(out)
    rep = build_index([tiny_dir], out, hash_embedder, **_quiet())
    assert rep.mode == "full" and len(load_index(out).chunks) == rep.chunks


def _refused_then_rebuilt_without_embedding(tiny_dir, out, counting_embedder, refusal: str):
    """The index at ``out`` is refused at load with a message matching ``refusal``; the next build
    rewrites it whole without embedding anything; the rebuilt index, loaded."""
    with pytest.raises(BadIndexError, match=refusal):
        load_index(out)
    before = counting_embedder.documents
    rep = build_index([tiny_dir], out, counting_embedder, **_quiet())
    assert rep.mode == "full" and rep.embedded == 0 and counting_embedder.documents == before
    return load_index(out)


@pytest.mark.parametrize("old", [1, 2])
def test_previous_format_is_rebuilt_without_re_embedding(tiny_dir, tmp_path, counting_embedder, old):
    out = tmp_path / "idx"
    build_index([tiny_dir], out, counting_embedder, **_quiet())
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # what earlier releases wrote: the same vector and chunk files, no domain.npy (1: bm25s BM25, no segments)
    m["format"] = old
    del m["domain_questions"], m["files"]["domain.npy"], m["sizes"]["domain.npy"]
    (out / "domain.npy").unlink()
    if old == 1:
        del m["segments"]
    (out / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    idx = _refused_then_rebuilt_without_embedding(tiny_dir, out, counting_embedder,
                                                  f"format {old}.*vectors already computed are reused")
    assert idx.manifest["format"] == 3 and len(idx.domain_vectors()) > 500


def test_stale_sources_names_exactly_what_changed(tmp_path, hash_embedder):
    from qa.index import stale_sources

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("甲公报\n\n本刊讯 甲县总工会慰问职工。\n", encoding="utf-8")
    rec = [{"id": i, "title": f"标题{i}", "text": f"本刊讯 第{i}区总工会开展活动。"} for i in range(3)]
    (src / "r.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rec), encoding="utf-8")
    out = tmp_path / "idx"
    build_index([src], out, hash_embedder, **_quiet())
    assert stale_sources(load_index(out)) == []
    rec[1]["text"] = "本刊讯 改过的内容。"
    (src / "r.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rec), encoding="utf-8")
    assert [s.rsplit("/", 1)[-1] for s in stale_sources(load_index(out))] == ["r.jsonl#1"]
    (src / "a.txt").unlink()
    assert sorted(s.rsplit("/", 1)[-1] for s in stale_sources(load_index(out))) == ["a.txt", "r.jsonl#1"]


@pytest.mark.parametrize("damage", ["none", "file", "questions"])
def test_domain_questions_are_embedded_once(tiny_dir, tmp_path, counting_embedder, damage):
    """A rebuild reuses the in-domain background vectors unless their file is damaged or the
    questions changed (told by the manifest's hash of them)."""
    from qa.index import background_questions

    out = tmp_path / "idx"
    build_index([tiny_dir], out, counting_embedder, **_quiet())
    n_bg, n_domain = len(background_questions()), len(background_questions("domain_questions"))
    assert counting_embedder.queries == n_bg + n_domain
    first = load_index(out).domain_vectors().copy()
    if damage == "file":
        f = out / "domain.npy"
        f.write_bytes(f.read_bytes()[:-4] + b"\0\0\0\0")
    elif damage == "questions":
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        m["domain_questions"] = "0" * 64
        (out / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    f = tiny_dir / "a_wages.txt"  # a changed source: a full rebuild
    f.write_text(f.read_text(encoding="utf-8") + "\n新增一段。", encoding="utf-8")
    counting_embedder.queries = 0
    build_index([tiny_dir], out, counting_embedder, **_quiet())
    assert counting_embedder.queries == n_bg + (0 if damage == "none" else n_domain)
    assert np.array_equal(load_index(out).domain_vectors(), first)


@pytest.mark.parametrize("recorded", ["0123456789abcdef", None])
def test_an_index_cut_by_another_tokenizer_is_refused_and_rebuilt_without_re_embedding(tiny_dir, tmp_path,
                                                                                      counting_embedder, recorded):
    """A term added to domain_words.txt is one word in a question and two in an index built before it:
    the index records its tokenizer, is refused when it differs (or is not recorded, as before this
    record), and the next build cuts every text again while reusing every vector."""
    import hashlib

    from qa.tokens import fingerprint

    out = tmp_path / "idx"
    build_index([tiny_dir], out, counting_embedder, **_quiet())
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["chunking"]["tokenizer"] == fingerprint()
    # what an older tokenizer left: other words for every chunk, with the files' records to match
    rows = [json.loads(line) for line in (out / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    for r in rows:
        r["tokens"] = "陈旧"
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    (out / "chunks.jsonl").write_bytes(data)
    m["files"]["chunks.jsonl"], m["sizes"]["chunks.jsonl"] = hashlib.sha256(data).hexdigest(), len(data)
    if recorded is None:
        del m["chunking"]["tokenizer"]
    else:
        m["chunking"]["tokenizer"] = recorded
    (out / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    said = f"tokenizer {recorded}" if recorded else "a tokenizer it does not record"
    idx = _refused_then_rebuilt_without_embedding(
        tiny_dir, out, counting_embedder, f"cut by {said}.*python -m qa index.*vectors already computed are reused")
    assert idx.manifest["chunking"]["tokenizer"] == fingerprint()
    words = set().union(*(idx.tokens_of(c) for c in idx.chunks))
    assert "陈旧" not in words and {"欠薪", "司机之家", "职工书屋"} <= words


@pytest.mark.parametrize("previous, kept", [({"tokenizer": "a"}, True), ({"tokenizer": "b"}, False),
                                            ({}, False), (None, False)])
def test_old_words_are_kept_only_when_cut_by_the_same_tokenizer(previous, kept):
    from qa.build_items import reusable_tokens

    old = {"key": "工会 职工"}
    assert reusable_tokens(previous, {"tokenizer": "a"}, old) == (old if kept else {})


def test_changed_in_domain_background_questions_rewrite_the_index(tiny_dir, tmp_path, counting_embedder):
    """An index whose in-domain background questions are not today's (qa/data/domain_questions.txt was
    edited since) is rewritten, reusing its chunk and sentence vectors: "nothing to do" had kept the old
    questions' vectors, so every sentence's reach (the hub score) was measured against them."""
    import json

    from qa.calibration import domain_questions

    out = tmp_path / "idx"
    build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None)
    manifest = out / "manifest.json"
    m = json.loads(manifest.read_text(encoding="utf-8"))
    m["domain_questions"] = "0" * 64  # as if built from other questions
    manifest.write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    docs = counting_embedder.documents
    r = build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None)
    assert r.mode == "full" and r.embedded == 0 and counting_embedder.documents == docs  # vectors reused
    assert json.loads(manifest.read_text(encoding="utf-8"))["domain_questions"] == domain_questions()[1]
    assert build_index([tiny_dir], out, counting_embedder, progress=False, log=lambda *_: None).mode == "unchanged"
