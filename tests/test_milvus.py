"""The Milvus store against Milvus Lite (a local .db file): the seed index built into Milvus answers as
the FAISS folder does; adding, changing and removing bulletins; a model mismatch; a killed build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa.address import build_index, load_index  # noqa: E402
from qa.errors import BadIndexError  # noqa: E402

from .conftest import ROOT, SEEDS, CountingEmbedder  # noqa: E402

QUIET = {"progress": False, "log": lambda *_: None}
QUESTION_FILES = [ROOT.parent / "shared" / "eval" / "dev_qa.jsonl", ROOT / "eval" / "heldout.jsonl"]


def _questions(limit_per_file: int = 80) -> list[str]:
    qs = []
    for f in QUESTION_FILES:
        if f.is_file():
            rows = [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
            qs.extend(r["q"] for r in rows[:limit_per_file])
    return qs


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The seed bulletins indexed twice with the test hash embedder: a FAISS folder and Milvus Lite."""
    from qa.embed import HashEmbedder

    emb = HashEmbedder(128)
    d = tmp_path_factory.mktemp("milvus")
    build_index([SEEDS], d / "folder", emb, **QUIET)
    address = f"milvus:{d / 'seeds.db'}"
    build_index([SEEDS], address, emb, **QUIET)
    return load_index(d / "folder"), load_index(address), emb


def test_milvus_index_holds_what_the_folder_holds(both):
    folder, milvus, _ = both
    assert [c.id for c in milvus.chunks] == [c.id for c in folder.chunks]
    assert milvus.texts == folder.texts and len(milvus.sentences) == len(folder.sentences)
    assert milvus.manifest["sources"] == folder.manifest["sources"]
    assert milvus.manifest["calibration"] == folder.manifest["calibration"]
    assert milvus.store.ntotal == folder.store.ntotal
    assert (milvus.domain_vectors() == folder.domain_vectors()).all()


def test_same_top5_and_refusals_as_the_folder(both):
    from qa.answer import Answerer

    folder, milvus, emb = both
    qs = _questions()
    assert len(qs) >= 20
    a_folder, a_milvus = Answerer(folder, emb), Answerer(milvus, emb)
    overlap, same_refusal = [], 0
    for q in qs:
        x, y = a_folder.ask(q), a_milvus.ask(q)
        top_x, top_y = {h.chunk.id for h in x.passages}, {h.chunk.id for h in y.passages}
        overlap.append(len(top_x & top_y) / max(1, len(top_x)))
        same_refusal += x.refused == y.refused
        for c in y.citations:  # citations verify against the source text stored in Milvus
            assert c.verified
    assert sum(overlap) / len(overlap) >= 0.95
    assert same_refusal == len(qs)


def test_model_mismatch_refuses_with_the_rebuild_command(both):
    from qa.embed import HashEmbedder
    from qa.retrieve import Retriever

    with pytest.raises(BadIndexError, match=r"built with model hash-128.*python -m qa index --index milvus:.*--source"):
        Retriever(both[1], HashEmbedder(64))


def test_missing_index_names_the_build_command(tmp_path):
    with pytest.raises(BadIndexError, match=r"no index 'other'.*python -m qa index --index milvus:.* --collection other"):
        load_index(f"milvus:{tmp_path / 'empty.db'}", collection="other")


NEW = "第9期\n\n东山区总工会开展送清凉活动\n\n本刊讯 东山区总工会为高温下作业的环卫工人送去绿豆汤和藿香正气水共计860份。\n"


def _stored_rows(address: str, name: str = "bulletins") -> dict[str, dict[str, list[int]]]:
    """What the current generation's chunk and sentence collections hold: kind → source → row keys (every
    row, also retired ones not yet deleted)."""
    from qa.stores import milvus_store as ms

    mc = ms.client(address)
    base = f"{name}_g{ms.current_generation(mc, name)}"
    out: dict[str, dict[str, list[int]]] = {}
    for kind in ("chunks", "sentences"):
        for r in ms.all_rows(mc, f"{base}_{kind}", ["row", "source"]):
            out.setdefault(kind, {}).setdefault(r["source"], []).append(r["row"])
    return out


def _built_copy(tmp_path, embedder, db: str):
    """The seed bulletins copied to ``tmp_path/corpus`` and indexed into the Milvus Lite file ``db``:
    (corpus folder, address, build report)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    address = f"milvus:{tmp_path / db}"
    return corpus, address, build_index([corpus], address, embedder, **QUIET)


def test_add_change_and_remove_bulletins(tmp_path, hash_embedder):
    emb = CountingEmbedder(hash_embedder)
    corpus, address, first = _built_copy(tmp_path, emb, "x.db")
    before = load_index(address)
    assert first.chunks == len(before.chunks) > 0

    # a new bulletin: inserted into the current generation, only its chunks and sentences embedded
    (corpus / "new.txt").write_text(NEW, encoding="utf-8")
    emb.documents = 0
    rep = build_index([corpus], address, emb, **QUIET)
    after = load_index(address)
    assert rep.mode == "append" and after.manifest["generation"] == before.manifest["generation"]
    assert [Path(s).name for s in rep.added] == ["new.txt"] and rep.embedded == emb.documents
    assert 0 < emb.documents < 10 and rep.chunks == len(after.chunks)
    assert len(after.chunks) == len(before.chunks) + sum(1 for c in after.chunks if c.source.endswith("new.txt"))
    assert any("860份" in t for t in after.texts.values())

    # the same content changed: replaced in place, in the same generation
    (corpus / "new.txt").write_text(NEW.replace("860", "920"), encoding="utf-8")
    emb.documents = 0
    rep = build_index([corpus], address, emb, **QUIET)
    changed = load_index(address)
    assert [Path(s).name for s in rep.changed] == ["new.txt"] and 0 < emb.documents < 10
    assert rep.mode == "update" and changed.manifest["generation"] == before.manifest["generation"]
    assert any("920份" in t for t in changed.texts.values()) and not any("860份" in t for t in changed.texts.values())
    assert len(changed.chunks) == len(after.chunks) == changed.store.ntotal

    # removed: its chunks go, nothing is embedded
    (corpus / "new.txt").unlink()
    emb.documents = 0
    rep = build_index([corpus], address, emb, **QUIET)
    gone = load_index(address)
    assert [Path(s).name for s in rep.removed] == ["new.txt"] and emb.documents == 0 and rep.mode == "update"
    assert [c.id for c in gone.chunks] == [c.id for c in before.chunks]
    assert gone.manifest["calibration"] == before.manifest["calibration"]  # measured again over what is left

    # nothing changed: nothing written
    assert build_index([corpus], address, emb, **QUIET).mode == "unchanged"


EDITED = ("免费为568名职工体检", "免费为612名职工体检")


def _edit(corpus: Path) -> Path:
    f = corpus / "000_79df250fcb6385bf.txt"
    text = f.read_text(encoding="utf-8")
    assert text.count(EDITED[0]) == 1
    f.write_text(text.replace(*EDITED), encoding="utf-8")
    return f


def _cited(answerer, question: str) -> list:
    a = answerer.ask(question)
    for c in a.citations:  # every citation's offsets point at its text in the stored source
        assert c.verified and answerer.index.texts[c.source][c.start:c.end] == c.text
    return a.citations


def test_an_edited_bulletin_is_replaced_in_place(tmp_path, hash_embedder, hash_answerability):
    from qa.answer import Answerer

    emb = CountingEmbedder(hash_embedder)
    corpus, address, _ = _built_copy(tmp_path, emb, "e.db")
    before, rows_before = load_index(address), _stored_rows(address)
    asked = {n: f"免费为{n}名职工体检的是哪个工会?" for n in (568, 612)}
    assert any("568名" in c.text for c in _cited(Answerer(before, emb, answerability=hash_answerability), asked[568]))

    edited = str(_edit(corpus))
    items_of_edited = (sum(1 for c in before.chunks if c.source == edited)
                       + sum(1 for s in before.sentences if s.source == edited))
    emb.documents = 0
    rep = build_index([corpus], address, emb, **QUIET)
    after, rows_after = load_index(address), _stored_rows(address)
    assert rep.mode == "update" and rep.changed == (edited,) and not rep.added and not rep.removed
    # only the edited text is embedded again: the bulletin's other chunks and sentences keep their vectors
    assert rep.embedded == emb.documents and 0 < emb.documents <= 4 < items_of_edited
    assert after.manifest["generation"] == before.manifest["generation"]
    # the other bulletins' rows are the same rows; the edited one's new rows come after every row written
    # before, and its old rows stay (retired, never served) until the next update
    for kind in ("chunks", "sentences"):
        others = {s: r for s, r in rows_before[kind].items() if s != edited}
        assert {s: r for s, r in rows_after[kind].items() if s != edited} == others
        new_rows = set(rows_after[kind][edited]) - set(rows_before[kind][edited])
        assert set(rows_before[kind][edited]) < set(rows_after[kind][edited])
        assert min(new_rows) > max(max(r) for r in rows_before[kind].values())
    assert [c.id for c in after.chunks if c.source != edited] == [c.id for c in before.chunks if c.source != edited]
    assert len(after.chunks) == after.store.ntotal == after.manifest["counts"]["chunks"] == len(before.chunks)
    assert after.texts[edited].count(EDITED[1]) == 1 and EDITED[0] not in after.texts[edited]

    # answers cite the new text, offsets verified against the text stored in Milvus
    answerer = Answerer(after, emb, answerability=hash_answerability)
    assert any("612名" in c.text for c in _cited(answerer, asked[612]))
    assert not any("568名" in c.text for n in (568, 612) for c in _cited(answerer, asked[n]))
    # a process that loaded the version before still answers from it, consistently (its dense search
    # is pinned to its rows, which stay until the next update)
    assert any("568名" in c.text for c in _cited(Answerer(before, emb, answerability=hash_answerability), asked[568]))

    # the next update deletes the retired rows: the collections hold exactly what is served
    (corpus / "new.txt").write_text(NEW, encoding="utf-8")
    build_index([corpus], address, emb, **QUIET)
    latest, rows = load_index(address), _stored_rows(address)
    assert sum(len(r) for r in rows["chunks"].values()) == len(latest.chunks) == latest.store.ntotal
    assert sum(len(r) for r in rows["sentences"].values()) == len(latest.sentences)
    # ... and the process two versions behind still answers (its retired rows' vectors read as zeros)
    assert Answerer(before, emb, answerability=hash_answerability).ask(asked[568]).passages


def test_a_removed_bulletin_is_no_longer_cited(tmp_path, hash_embedder, hash_answerability):
    from qa.answer import Answerer

    emb = CountingEmbedder(hash_embedder)
    corpus, address, _ = _built_copy(tmp_path, emb, "r.db")
    question = "免费为568名职工体检的是哪个工会?"
    removed = str(corpus / "000_79df250fcb6385bf.txt")
    assert any(c.source == removed for c in _cited(Answerer(load_index(address), emb,
                                                            answerability=hash_answerability), question))
    (corpus / "000_79df250fcb6385bf.txt").unlink()
    emb.documents = 0
    rep = build_index([corpus], address, emb, **QUIET)
    gone = load_index(address)
    assert rep.mode == "update" and rep.removed == (removed,) and emb.documents == 0
    assert removed not in gone.texts and not any(c.source == removed for c in gone.chunks)
    assert not any(s.source == removed for s in gone.sentences)
    a = Answerer(gone, emb, answerability=hash_answerability)
    assert not any(c.source == removed for c in _cited(a, question))
    assert all(h.chunk.source != removed for h in a.ask(question).passages)
    assert gone.manifest["counts"] == {"sources": 3, "chunks": len(gone.chunks), "sentences": len(gone.sentences)}


def test_bad_input_is_a_clear_error_and_loses_nothing(tmp_path, hash_embedder):
    from qa.errors import QAError, SourceError

    corpus, address, _ = _built_copy(tmp_path, hash_embedder, "b.db")
    before = load_index(address)

    def unchanged() -> None:
        now = load_index(address)
        assert [c.id for c in now.chunks] == [c.id for c in before.chunks] and now.texts == before.texts
        assert now.manifest["counts"] == before.manifest["counts"]

    # a source that is not there
    with pytest.raises(SourceError, match="source path not found: .*missing.txt"):
        build_index([corpus, tmp_path / "missing.txt"], address, hash_embedder, **QUIET)
    unchanged()
    # an indexed bulletin that can no longer be read: not taken for a removal
    damaged = corpus / "002_257d618e5a1f309a.txt"
    damaged.write_bytes(b"\x00\x01binary\x00" * 100)
    with pytest.raises(SourceError, match=r"002_257d618e5a1f309a.txt was indexed but cannot be read now.*nothing "
                                          r"was changed"):
        build_index([corpus], address, hash_embedder, **QUIET)
    unchanged()
    # a database address that is not a Milvus Lite database: the file is left as it was
    bad = tmp_path / "not-milvus.db"
    bad.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    original = bad.read_bytes()
    for call in (lambda: load_index(f"milvus:{bad}"),
                 lambda: build_index([corpus], f"milvus:{bad}", hash_embedder, **QUIET)):
        with pytest.raises(QAError, match=r"not-milvus.db is a file, not a Milvus Lite database"):
            call()
    assert bad.read_bytes() == original


class Killed(Exception):
    pass


@pytest.mark.parametrize("how", ["append", "new generation"])
def test_a_killed_build_leaves_the_previous_index_answering(tmp_path, hash_embedder, how):
    from qa.retrieve import Retriever

    corpus, address, _ = _built_copy(tmp_path, hash_embedder, "k.db")
    before = load_index(address)
    (corpus / "new.txt").write_text(NEW, encoding="utf-8")
    if how == "new generation":  # a changed bulletin too: the build writes a whole new generation
        first = sorted(corpus.glob("0*.txt"))[0]
        first.write_text(first.read_text(encoding="utf-8") + "\n本刊讯 补记。\n", encoding="utf-8")

    def dies_while_writing(msg: str) -> None:  # the build reports its stages through log
        if msg.startswith("wrote the chunks"):
            raise Killed(msg)

    with pytest.raises(Killed):
        build_index([corpus], address, hash_embedder, progress=False, log=dies_while_writing)
    still = load_index(address)
    assert [c.id for c in still.chunks] == [c.id for c in before.chunks]
    assert not any("860份" in t for t in still.texts.values())
    assert Retriever(still, hash_embedder).search("工会 职工", 5)

    # the next build finishes the job (the half-written generation is dropped first)
    rep = build_index([corpus], address, hash_embedder, **QUIET)
    assert [Path(s).name for s in rep.added] == ["new.txt"]
    done = load_index(address)
    assert any("860份" in t for t in done.texts.values())
    assert len(done.chunks) == done.store.ntotal == done.manifest["counts"]["chunks"]
    assert len({c.id for c in done.chunks}) == len(done.chunks)  # nothing the killed build wrote is doubled


def test_a_milvus_lite_file_held_by_another_process_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "held.db"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pymilvus import MilvusClient\n"
                               f"c = MilvusClient({str(db)!r}); print('ready', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(BadIndexError, match="one process at a time.*milvus:http://HOST:19530"):
            load_index(f"milvus:{db}")
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
