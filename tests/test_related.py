"""Related words (qa.related): a worker's word the bulletins never use, related to the bulletin words
nearest in meaning; the vocabulary's vectors cached per model; sentence scoring counting them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa.question import analyse
from qa.related import RelatedWords
from qa.vocabulary import Vocabulary

# words that mean the same thing share a direction; every other word gets its own
MEANINGS = {"阅读": 0, "读书": 0, "书屋": 0, "洗澡": 1, "淋浴间": 1, "辞职": 2}


class MeaningEmbedder:
    """Implements the embedder interface: a word in MEANINGS points along its meaning (plus a little of
    its own), any other text along a direction of its own; counts the texts it embeds."""

    model_id = "meaning-test"
    dim = 64
    fingerprint = "meaning-test-1"

    def __init__(self):
        self.documents = 0

    def _vec(self, text: str) -> np.ndarray:
        own = np.random.default_rng(abs(hash(text)) % 2**32).normal(size=self.dim)
        own /= np.linalg.norm(own)
        if text in MEANINGS:
            base = np.zeros(self.dim)
            base[MEANINGS[text]] = 1.0
            own = base + 0.2 * own
        return (own / np.linalg.norm(own)).astype(np.float32)

    def encode_documents(self, texts, titles=None, progress=None):
        self.documents += len(texts)
        return np.stack([self._vec(t) for t in texts])

    def encode_queries(self, texts):
        return np.stack([self._vec(t) for t in texts])


@pytest.fixture
def related(tiny_index, tmp_path):
    return RelatedWords(tiny_index, MeaningEmbedder(), top=2, min_cosine=0.8, folder=tmp_path / "related")


def test_unknown_word_gets_the_bulletin_words_of_its_meaning(related):
    assert set(related.related("阅读")) == {"读书", "书屋"}  # the word itself is no relation of its own
    assert related.related("洗澡") == ("淋浴间",)
    assert related.related("辞职") == ()  # nothing in the bulletins is near it
    assert related.related_many(["洗澡", "辞职"]) == {"洗澡": ("淋浴间",), "辞职": ()}


def test_top_limits_the_related_words(tiny_index, tmp_path):
    one = RelatedWords(tiny_index, MeaningEmbedder(), top=1, min_cosine=0.8, folder=tmp_path / "r")
    assert len(one.related("阅读")) == 1


def test_vocabulary_vectors_are_cached_and_reused(tiny_index, tmp_path):
    first = MeaningEmbedder()
    RelatedWords(tiny_index, first, folder=tmp_path / "r").load()
    n_words = len(RelatedWords(tiny_index, first).vocabulary())
    assert first.documents == n_words > 0
    assert (tmp_path / "r" / "vectors.npz").exists()
    again = MeaningEmbedder()
    r = RelatedWords(tiny_index, again, top=2, min_cosine=0.8, folder=tmp_path / "r")
    assert set(r.related("阅读")) == {"读书", "书屋"}
    assert again.documents == 1  # only the question word: the vocabulary came from the cache


@pytest.mark.parametrize("damage", [b"", b"not a numpy file", None])
def test_a_damaged_cache_is_rebuilt(tiny_index, tmp_path, damage):
    folder = tmp_path / "r"
    RelatedWords(tiny_index, MeaningEmbedder(), folder=folder).load()
    f = folder / "vectors.npz"
    if damage is None:
        f.unlink()
        folder.rmdir()
        folder.write_text("a file where the folder was")  # the cache cannot be written: embed, go on
    else:
        f.write_bytes(damage)
    emb = MeaningEmbedder()
    r = RelatedWords(tiny_index, emb, top=2, min_cosine=0.8, folder=folder)
    assert r.related("洗澡") == ("淋浴间",)
    assert emb.documents > 1


def test_only_words_the_bulletins_do_not_know_are_related(tiny_index, related):
    voc = Vocabulary(tiny_index, related)
    got = voc.related(["读书", "阅读", "2024", "辞职"])
    assert list(got) == ["阅读"]  # a bulletin word keeps its own meaning; numbers and lone words left out
    assert set(got["阅读"]) == {"读书", "书屋"}
    assert Vocabulary(tiny_index).related(["阅读"]) == {}  # without RelatedWords: nothing


def test_the_nearest_cosine_is_given_however_far_the_nearest_word_is(related):
    got = related.nearest_cosine(["洗澡", "辞职"])
    assert got["洗澡"] >= 0.8 > got["辞职"]  # 淋浴间 is near; nothing the bulletins say is near 辞职
    assert related.related_many(["洗澡", "辞职"]) == {"洗澡": ("淋浴间",), "辞职": ()}  # asked again: the same


def test_unheard_of_words_are_new_to_the_bulletins_down_to_a_character(tiny_index, related):
    """Only words the bulletins never use that hold a character they never use: 辞职 (辞) and 阅读 (阅),
    not 读书 (theirs), not 屋焊 (glued from their 书屋 and 焊工: a cut of their own wording), not 2024."""
    voc = Vocabulary(tiny_index, related)
    got = voc.unheard_of(["辞职", "阅读", "读书", "屋焊", "2024"])
    assert sorted(got) == ["辞职", "阅读"]
    assert got["辞职"] < 0.8 <= got["阅读"]
    assert Vocabulary(tiny_index).unheard_of(["辞职"]) == {}  # without RelatedWords: nothing can be judged


def test_a_related_word_counts_as_the_question_word_in_a_sentence(tiny_index, related):
    q = analyse("下班后想阅读去哪", Vocabulary(tiny_index, related))
    assert set(q.synonyms["阅读"]) == {"读书", "书屋"}
    assert q.coverage({"读书"}) == q.coverage({"书屋"}) == q.coverage({"阅读"}) > 0  # present as the word itself
    assert q.coverage({"读书", "下班"}) == 1.0


# -- the vocabulary's cap

def _index_of(chunks: list[list[str]]):
    """An index stand-in with a real BM25 over ``chunks`` (each chunk's words), so document
    frequencies are known: RelatedWords reads only ``index.bm25``."""
    from types import SimpleNamespace

    from qa.bm25 import Bm25, TermCounts

    return SimpleNamespace(bm25=Bm25([TermCounts.count(chunks)]))


# 读书 in 3 chunks; 书屋 and 洗澡 in 2; 淋浴间 and 阅读 in 1; the rest is never in the vocabulary
COUNTED = _index_of([["读书", "书屋", "洗澡", "abc"], ["读书", "书屋", "工", "abc"], ["读书", "洗澡", "淋浴间"],
                     ["阅读", "工作日志本子"]])
ALL = ["书屋", "洗澡", "淋浴间", "读书", "阅读"]


def test_the_cap_keeps_every_word_when_the_vocabulary_is_no_larger(tiny_index, tmp_path):
    assert RelatedWords(COUNTED, MeaningEmbedder(), max_words=5).vocabulary() == sorted(ALL)
    assert RelatedWords(COUNTED, MeaningEmbedder(), max_words=100).vocabulary() == sorted(ALL)
    every = RelatedWords(tiny_index, MeaningEmbedder(), max_words=10**6).vocabulary()
    emb = MeaningEmbedder()
    RelatedWords(tiny_index, emb, folder=tmp_path / "r").load()  # the default cap: the tiny index keeps all
    assert RelatedWords(tiny_index, emb).vocabulary() == every and emb.documents == len(every)


def test_above_the_cap_the_words_in_most_chunks_are_kept_ties_by_word(tmp_path):
    assert RelatedWords(COUNTED, MeaningEmbedder(), max_words=1).vocabulary() == ["读书"]
    assert RelatedWords(COUNTED, MeaningEmbedder(), max_words=2).vocabulary() == sorted(["读书", "书屋"])  # 书屋 < 洗澡
    assert RelatedWords(COUNTED, MeaningEmbedder(), max_words=3).vocabulary() == sorted(["读书", "书屋", "洗澡"])
    assert RelatedWords(COUNTED, MeaningEmbedder(), max_words=4).vocabulary() == sorted(["读书", "书屋", "洗澡", "淋浴间"])
    emb = MeaningEmbedder()
    capped = RelatedWords(COUNTED, emb, top=2, min_cosine=0.8, max_words=3, folder=tmp_path / "r")
    capped.load()
    assert emb.documents == 3  # only the kept words are embedded
    assert capped.related("洗澡") == ()  # 淋浴间 (in one chunk) was left out
    assert set(capped.related("阅读")) == {"读书", "书屋"}
    full = RelatedWords(COUNTED, MeaningEmbedder(), top=2, min_cosine=0.8, folder=tmp_path / "full")
    assert full.related("洗澡") == ("淋浴间",)


# -- a question while the vectors are made in the background

class GatedMeaningEmbedder(MeaningEmbedder):
    """Embeds the vocabulary (any call of more than one text) only once ``gate`` is set, saying
    ``embedding`` when it has begun; a question's words (one call each) at once."""

    def __init__(self):
        super().__init__()
        self.embedding = threading.Event()
        self.gate = threading.Event()

    def encode_documents(self, texts, titles=None, progress=None):
        if len(texts) > 1:
            self.embedding.set()
            self.gate.wait()
        return super().encode_documents(texts, titles, progress)


def test_a_question_while_the_vocabulary_is_embedded_is_answered_without_related_words(tiny_index, tmp_path):
    emb = GatedMeaningEmbedder()
    r = RelatedWords(tiny_index, emb, top=2, min_cosine=0.8, folder=tmp_path / "r")
    r.start()
    r.start()  # once
    assert emb.embedding.wait(30)
    # were related_many to wait for the vocabulary, this would open the gate first: then 阅读 would get
    # its related words and the assertion below would fail (a guard against a hang, not a timing)
    guard = threading.Timer(30, emb.gate.set)
    guard.start()
    try:
        assert r.related_many(["阅读", "洗澡"]) == {"阅读": (), "洗澡": ()}
        assert not r.ready and not emb.gate.is_set()
        assert Vocabulary(tiny_index, r).related(["阅读"]) == {}
        assert r.nearest_cosine(["辞职"]) == {}  # no cosine known yet: nothing is judged far
        assert Vocabulary(tiny_index, r).unheard_of(["辞职"]) == {}
    finally:
        guard.cancel()
    emb.gate.set()
    r.load()  # a caller that asks to wait, waits
    assert r.ready
    assert set(r.related("阅读")) == {"读书", "书屋"}  # the empty answer given meanwhile was not kept
    assert r.nearest_cosine(["辞职"])["辞职"] < 0.8
    assert emb.documents == len(r.vocabulary()) + 2  # the vocabulary once: load() did not embed it again


def test_without_start_a_question_waits_for_the_vocabulary(tiny_index, tmp_path):
    emb = MeaningEmbedder()
    r = RelatedWords(tiny_index, emb, top=2, min_cosine=0.8, folder=tmp_path / "r")
    assert not r.ready
    assert set(r.related("阅读")) == {"读书", "书屋"}  # loaded first: answers do not depend on timing
    assert r.ready


def test_many_questions_at_once_during_and_after_the_background_load(tiny_index, tmp_path):
    emb = GatedMeaningEmbedder()
    r = RelatedWords(tiny_index, emb, top=2, min_cosine=0.8, folder=tmp_path / "r")
    r.start()
    assert emb.embedding.wait(30)
    guard = threading.Timer(30, emb.gate.set)  # against a hang, as above
    guard.start()
    with ThreadPoolExecutor(8) as pool:
        during = list(pool.map(r.related, ["阅读"] * 16))
        guard.cancel()
        emb.gate.set()
        r.load()
        after = list(pool.map(r.related, ["阅读", "洗澡"] * 8))
    assert during == [()] * 16
    assert [set(a) for a in after[::2]] == [{"读书", "书屋"}] * 8 and after[1::2] == [("淋浴间",)] * 8


def test_a_background_load_reuses_and_fills_the_cache(tiny_index, tmp_path):
    first = MeaningEmbedder()
    bg = RelatedWords(tiny_index, first, folder=tmp_path / "r")
    bg.start()
    bg.load()
    assert (tmp_path / "r" / "vectors.npz").exists() and first.documents == len(bg.vocabulary())
    again = GatedMeaningEmbedder()
    again.gate.set()
    r = RelatedWords(tiny_index, again, top=2, min_cosine=0.8, folder=tmp_path / "r")
    r.start()
    r.load()
    assert again.documents == 0 and not again.embedding.is_set()  # from the cache, nothing embedded
    assert set(r.related("阅读")) == {"读书", "书屋"}


def test_a_failed_background_load_leaves_questions_without_related_words(tiny_index, tmp_path):
    class Failing(MeaningEmbedder):
        def encode_documents(self, texts, titles=None, progress=None):
            if len(texts) > 1:
                raise RuntimeError("weights unreadable")
            return super().encode_documents(texts, titles, progress)

    r = RelatedWords(tiny_index, Failing(), top=2, min_cosine=0.8, folder=tmp_path / "r")
    r.start()
    with pytest.raises(RuntimeError, match="weights unreadable"):
        r.load()  # a caller that waits meets the error
    assert r.related("阅读") == () and not r.ready  # a question is still answered


def test_the_apps_warm_up_does_not_wait_for_the_related_words(tiny_index, hash_embedder, tmp_path, monkeypatch):
    from qa.answer import Answerer
    from qa.answerability import AnswerabilityModel

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))  # no vectors cached yet

    class Gated:
        """The hash embedder, whose vocabulary call (more than one text) waits for ``gate``."""

        def __init__(self, inner):
            self.inner, self.model_id, self.dim, self.fingerprint = inner, inner.model_id, inner.dim, inner.fingerprint
            self.embedding, self.gate = threading.Event(), threading.Event()

        def encode_queries(self, texts):
            return self.inner.encode_queries(texts)

        def encode_documents(self, texts, titles=None, progress=None):
            if len(texts) > 1:
                self.embedding.set()
                self.gate.wait()
            return self.inner.encode_documents(texts, titles, progress)

    emb = Gated(hash_embedder)
    answerer = Answerer(tiny_index, emb, answerability=AnswerabilityModel.always())
    guard = threading.Timer(30, emb.gate.set)  # were warm_up to wait, it would return only after this
    guard.start()
    try:
        answerer.warm_up(wait_for_related=False)
        assert emb.embedding.wait(30) and not emb.gate.is_set() and not answerer.related.ready
        ans = answerer.ask("货车司机之家有什么?")
        assert not ans.refused and "货车司机之家" in ans.text
        assert not emb.gate.is_set()
    finally:
        guard.cancel()
    emb.gate.set()
    answerer.related.load()
    assert answerer.related.ready
