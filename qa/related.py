"""Related words: the bulletin words nearest in meaning to a word the bulletins never use.

A worker writes 喂奶, 跳槽, 睡觉, 辞职, 开大车; the bulletins say 母婴室, 离职率, 夜宿/床铺, 离职,
货车司机.  No spelling rule links them (``qa.vocabulary`` repairs typos, pinyin and shortened
words), but the embedding model does: each word of the index's vocabulary (Chinese, 2–4
characters, from its BM25 terms) is embedded alone, and a question word the bulletins do not use
is related to the ``top`` vocabulary words whose cosine with it is at least ``min_cosine``
(``qa/data/scoring.json``, chosen on the tune questions).  Sentence scoring then counts a related
word as the question's word being present (``Question.synonyms``); retrieval and answerability do
not read them.

The vocabulary is bounded: above ``related_max_words`` words (``qa/data/scoring.json``) only that many
are kept, those found in the most chunks (see ``RelatedWords.vocabulary``); the four seed bulletins
(2,997 words) keep every word, the 100k-chunk bench index (189,167 words) its 20,000 most common.
Their vectors are kept per model in the per-user cache (``<cache>/related/<model fingerprint>/vectors.npz``:
the words and their float16 vectors), so a process embeds only words it has not seen before (the seeds:
some 15 s once; 20,000 words: 151 CPU-seconds, about 1.5 min on an idle 2-core machine, and a 59 MB
matrix; ``bench/related_scale.json``).

``load()`` makes the vectors ready and waits for them (eval, tests, the CLI: answers do not depend on
timing); ``start()`` makes them in a background thread (the app's warm-up), and a question asked
meanwhile is answered without related words instead of waiting.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import time
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .wordlists import table

_HAN = re.compile(r"[\u4e00-\u9fff]{2,4}")
_SETTINGS = table("scoring")
_REMEMBERED = 20_000  # question words whose related words are kept between questions


def cache_folder(fingerprint: str) -> Path:
    from .model import cache_dir

    return cache_dir() / "related" / hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


class RelatedWords:
    """Bulletin words related in meaning to a word, for one index and the embedder it was built with."""

    def __init__(self, index, embedder, *, top: int | None = None, min_cosine: float | None = None,
                 max_words: int | None = None, folder: str | os.PathLike | None = None):
        self.index = index
        self.embedder = embedder
        self.top = int(_SETTINGS["related_top"] if top is None else top)
        self.min_cosine = float(_SETTINGS["related_min_cosine"] if min_cosine is None else min_cosine)
        self.max_words = int(_SETTINGS["related_max_words"] if max_words is None else max_words)
        self.folder = Path(folder) if folder is not None else None
        self._lock = threading.Lock()  # held while the vectors are made
        self._start_lock = threading.Lock()
        self._vectors: tuple[list[str], np.ndarray] | None = None  # (words, matrix), set once, whole
        self._in_background = False  # start() was called: questions do not wait for the vectors
        # question word → (its related words, the cosine of the nearest vocabulary word)
        self._asked: dict[str, tuple[tuple[str, ...], float]] = {}

    def vocabulary(self) -> list[str]:
        """The index's Chinese words of 2–4 characters (its BM25 terms), in a fixed order (by word).

        Above ``max_words`` words, the ``max_words`` found in the most chunks (document frequency; ties
        by word) are kept.  Why that rule: a related word only changes an answer when it occurs in a
        sentence of the retrieved passages, and a word in many chunks is the more likely to; the words
        found in one chunk only (82,146 of the 100k bench index's 189,167) are mostly rare words, names and
        word-cutting leftovers (乌鳢, 今树, 不舍花, 假烟案) that no everyday word means.  At 20,000 the
        100k index keeps the words in 20 chunks or more.  Measured on the seeds cut to half their words
        (1,500 of 2,997; tune): hit@1 0.919 by this rule against 0.912 for three random halves, fact recall
        0.907 both (all words: 0.926 / 0.913; none: 0.905 / 0.900) — a small edge, not a large one."""
        bm = self.index.bm25
        words = sorted(w for w in (bm.vocab if bm is not None else ()) if _HAN.fullmatch(w))
        if len(words) > self.max_words:
            keep = set(sorted(words, key=lambda w: (-bm.doc_freq(w), w))[: max(self.max_words, 0)])
            words = [w for w in words if w in keep]
        return words

    @property
    def ready(self) -> bool:
        """True once the vocabulary's vectors are made."""
        return self._vectors is not None

    def start(self) -> None:
        """Make the vectors in a background thread (once; nothing when they are ready or under way).
        From then on a question never waits for them: until they are ready (or when that load failed:
        logged) it is answered without related words; ``load()`` still waits, or tries again."""
        with self._start_lock:
            if self._vectors is None and not self._in_background:
                self._in_background = True
                threading.Thread(target=self._load_in_background, name="related-words", daemon=True).start()

    def _load_in_background(self) -> None:
        log, t = logging.getLogger(__name__), time.perf_counter()
        try:
            self.load()
        except Exception:  # questions go on without related words
            log.exception("related words: the vocabulary's vectors could not be made")
        else:
            log.info("related words ready: %d words (%.1f s in the background)", len(self._vectors[0]),
                     time.perf_counter() - t)

    def load(self) -> None:
        """Make the vocabulary's vectors ready and wait for them: read the cache, embed the words it
        lacks, save it (waits for a background load under way)."""
        with self._lock:
            if self._vectors is not None:
                return
            words = self.vocabulary()
            folder = self.folder or cache_folder(self.embedder.fingerprint)
            cached = _read(folder)
            missing = [w for w in words if w not in cached]
            if missing:
                vecs = np.asarray(self.embedder.encode_documents(missing), np.float16).astype(np.float32)
                cached.update(zip(missing, vecs))
                _write(folder, cached)
            self._vectors = (words, np.stack([cached[w] for w in words]).astype(np.float32) if words
                             else np.zeros((0, self.embedder.dim), np.float32))

    def related(self, word: str) -> tuple[str, ...]:
        return self.related_many([word])[word]

    def related_many(self, words: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """word → the vocabulary words related to it, best first (empty when none is close enough).
        After ``start()``, until the vectors are ready: empty for every word, at once (not kept); without
        ``start()``: the vectors are loaded first (``load()``), so answers never depend on timing."""
        return {w: got[0] for w, got in self._nearest(words).items()}

    def nearest_cosine(self, words: Sequence[str]) -> dict[str, float]:
        """word → the cosine of the vocabulary word nearest to it in meaning (however far), for each of
        ``words``; empty while the vectors are made in the background (nothing is known yet)."""
        return {w: got[1] for w, got in self._nearest(words).items() if got[1] is not None}

    def _nearest(self, words: Sequence[str]) -> dict[str, tuple[tuple[str, ...], float | None]]:
        """word → (related words, nearest cosine); ((), None) for each while the vectors are being made
        in the background."""
        words = list(dict.fromkeys(words))
        asked = self._asked  # one dict throughout, though another thread may start a new one
        out = {w: asked[w] for w in words if w in asked}
        new = [w for w in words if w not in out]
        if new:
            vectors = self._vectors
            if vectors is None:
                if self._in_background:  # made in the background: not waiting minutes for them
                    return {w: out.get(w, ((), None)) for w in words}
                self.load()
                vectors = self._vectors
            vocab, matrix = vectors
            vecs = np.asarray(self.embedder.encode_documents(new), np.float32)
            sims = vecs @ matrix.T if len(matrix) else np.zeros((len(new), 0), np.float32)
            for w, row in zip(new, sims):
                order = np.argsort(-row, kind="stable")[: self.top + 1]
                alts = tuple(vocab[j] for j in order if row[j] >= self.min_cosine and vocab[j] != w)[: self.top]
                out[w] = (alts, float(row[order[0]]) if len(order) else 0.0)
            if len(self._asked) > _REMEMBERED:  # another thread may be reading: it keeps what it took
                self._asked = {}
            self._asked.update((w, out[w]) for w in new)
        return {w: out[w] for w in words}


def _read(folder: Path) -> dict[str, np.ndarray]:
    """The cached word vectors (empty when there is no cache or it does not read back whole)."""
    try:
        with np.load(folder / "vectors.npz", allow_pickle=False) as f:
            words, vecs = f["words"], f["vectors"]
        if words.ndim != 1 or len(words) != len(vecs):
            return {}
        return dict(zip(words.tolist(), vecs.astype(np.float32)))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return {}


def _write(folder: Path, vectors: dict[str, np.ndarray]) -> None:
    """Save the word vectors as one file, replaced atomically (a cache that cannot be written is
    skipped: the next process embeds again)."""
    tmp = folder / f"vectors.tmp-{os.getpid()}-{threading.get_ident()}.npz"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        words = list(vectors)
        np.savez(tmp, words=np.array(words, dtype=str),
                 vectors=np.stack([vectors[w] for w in words]).astype(np.float16))
        os.replace(tmp, folder / "vectors.npz")
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
