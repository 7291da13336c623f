"""Tokens: normalise Chinese text and cut it into words for BM25 and term overlap.

Normalisation: NFKC (full-width digits and punctuation → ASCII), traditional → simplified (OpenCC
when installed), lower case.  Words: jieba's search-mode cut (long words also yield their parts),
minus punctuation, single-character function words and question words ("多少", "哪里" …), which
say what is asked, not what a passage contains.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata

from .wordlists import words

DOMAIN_WORDS = words("domain_words")  # qa/data/domain_words.txt
STOPWORDS = frozenset(words("stopwords"))  # qa/data/stopwords.txt

_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _converter():
    try:
        import opencc
    except ImportError:
        return None
    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=1)
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    for w in DOMAIN_WORDS:
        tok.add_word(w, freq=20000)
    return tok


def fingerprint() -> str:
    """What the words of a text depend on, as a short hash: jieba's version, the bulletin terms it
    keeps whole (``domain_words.txt``), the stopwords dropped and whether traditional characters are
    converted.  An index records it (``qa.index.chunking_settings``): BM25 words cut by another
    tokenizer would not match the question's words."""
    import hashlib

    import jieba

    parts = [getattr(jieba, "__version__", "?"), "opencc" if _converter() is not None else "no-opencc",
             "\n".join(sorted(DOMAIN_WORDS)), "\n".join(sorted(STOPWORDS))]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


def simplified(text: str) -> str:
    """``text`` in simplified characters (寶雞文化宮的課要錢不 → 宝鸡文化宫的课要钱不), as written otherwise."""
    conv = _converter()
    return conv.convert(text) if conv is not None else text


def normalise(text: str) -> str:
    return simplified(unicodedata.normalize("NFKC", text)).lower()


def tokenize(text: str) -> list[str]:
    """Words of ``text`` for BM25 (search mode, stopwords and punctuation removed)."""
    t = normalise(text)
    out = []
    for w in _tokenizer().cut_for_search(t):
        w = w.strip()
        if not w or w in STOPWORDS or _PUNCT.match(w):
            continue
        out.append(w)
    return out


def cut(text: str) -> list[str]:
    """Words of ``text`` in order, jieba's precise cut (no overlapping pieces), punctuation dropped."""
    return [w for w in (w.strip() for w in _tokenizer().lcut(normalise(text))) if w and not _PUNCT.match(w)]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of each word of jieba's precise cut of ``text``."""
    out, at = [], 0
    for w in _tokenizer().lcut(text):
        out.append((at, at + len(w), w))
        at += len(w)
    return out


def real_word_at(spans: list[tuple[int, int, str]], start: int, end: int, min_freq: int) -> bool:
    """The stretch ``start:end`` of a text cut into ``spans`` (``word_spans``) is a real word, or part
    of one: the cut has it as a word at least ``min_freq`` common in jieba's dictionary (失业), or has a
    dictionary word there that the stretch cuts in two (在县 cuts 县里; 兴化失 cuts 失业).  A typo (公会,
    讨工姿) is neither."""
    for a, b, w in spans:
        if b <= start or a >= end or (start <= a and b <= end and (a, b) != (start, end)):
            continue  # outside the stretch, or a smaller word inside it
        freq = dictionary_frequency(w) if len(w) >= 2 else 0
        if (a, b) == (start, end) and freq >= min_freq or (a, b) != (start, end) and freq > 0:
            return True
    return False


def rarity(word: str) -> float:
    """How rare ``word`` is in everyday Chinese, from 0 (the commonest) to 1 (not in jieba's
    dictionary): ln(total / (frequency + 1)) / ln(total) over the dictionary's counts.  地方 0.39,
    失业 0.60, 喂奶 0.76, 找活 1.0."""
    import math

    total = _tokenizer().total
    return max(0.0, math.log(total / (dictionary_frequency(word) + 1)) / math.log(total))


def tag(text: str) -> list[tuple[str, str]]:
    """(word, part-of-speech) pairs from jieba's tagger (ns place, nr person, nt organisation …)."""
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(logging.WARNING)
    return [(w, f) for w, f in pseg.lcut(text)]


def dictionary_frequency(word: str) -> int:
    """How common ``word`` is in jieba's dictionary (0 when it is not in it)."""
    return int(_tokenizer().FREQ.get(word, 0) or 0)
