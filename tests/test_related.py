"""Related words (qa.related): a worker's word the bulletins never use, related to the bulletin words
nearest in meaning; the vocabulary's vectors cached per model; sentence scoring counting them."""

from __future__ import annotations

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


def test_a_related_word_counts_as_the_question_word_in_a_sentence(tiny_index, related):
    q = analyse("下班后想阅读去哪", Vocabulary(tiny_index, related))
    assert set(q.synonyms["阅读"]) == {"读书", "书屋"}
    assert q.coverage({"读书"}) > q.coverage({"下班"}) > 0


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
