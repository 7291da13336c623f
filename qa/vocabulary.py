"""Vocabulary: the bulletins' own words, and a worker's words mapped onto them.

Workers type 公会 for 工会, 加斑费, ``gongzi``, ``overtime``, 女工 for 女职工, 疗养 for 疗休养.  None of
that should make a question look off-topic.  ``Vocabulary`` knows the index's words (its BM25
vocabulary and source texts) and offers:

- ``repair(text)``: homophone typos (a 2–4 character stretch that occurs in no bulletin, cuts no
  word in two — 兴化失业 is not 兴化市业 —, holds no word of grammar and changes none — the
  one-character stopwords and ``qa/data/function_characters.txt``'s negations: 不发了 is not 补发了,
  把我 not 把握 — and sounds exactly like a bulletin word sharing a character with it: 公会→工会,
  工姿→工资) and pinyin words
  (``gonghui`` → 工会) replaced by the bulletin word; English words by ``qa/data/english_words.json``;
- ``words_of(text)``: the repaired text's content words (``qa.tokens.tokenize``);
- ``alternatives(word)``: bulletin words that contain the word's characters in order and are at most
  two characters longer (女工→女职工, 疗养→疗休养), counted as the word being present;
- ``known(word)``: whether the bulletins use the word (or such an alternative);
- ``related(words)``: for the words the bulletins do not know, the bulletin words nearest in
  meaning (喂奶 → 母婴, 跳槽 → 转岗/离职; ``qa.related``, when built with a ``RelatedWords``);
- ``idf(tokens)``: the index's BM25 idf, a word the bulletins never use weighted by how rare it
  is in everyday Chinese (地方 and 那个 weigh little, 喂奶 much).
"""

from __future__ import annotations

import functools
import re

from .wordlists import table, words

_SETTINGS = table("scoring")
_COLLOQUIAL = [(re.compile(p), r) for p, r in table("colloquial")["rewrites"]]


def _function_characters() -> frozenset:
    """One-character words of grammar (不 我 是 几 在 …), which no typo holds: the one-character
    stopwords and the negations of ``qa/data/function_characters.txt``."""
    from .tokens import STOPWORDS

    return frozenset(w for w in STOPWORDS if len(w) == 1) | frozenset(words("function_characters"))


_FUNCTION_CHARACTERS = _function_characters()
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]+")


class Vocabulary:
    def __init__(self, index, related=None):
        self.index = index
        self._related = related  # a qa.related.RelatedWords, or None
        self._english = {k.lower(): v for k, v in table("english_words").items()}

    # -- what the bulletins contain
    @functools.cached_property
    def corpus_text(self) -> str:
        return self.index.corpus_text()

    @functools.cached_property
    def words(self) -> dict[str, int]:
        """Chinese words of the index (2–6 characters) → document frequency."""
        bm = self.index.bm25
        if bm is None:
            return {}
        return {w: bm.doc_freq(w) for w in bm.vocab if 2 <= len(w) <= 6 and _HAN.fullmatch(w)}

    @functools.cached_property
    def _by_sound(self) -> dict[tuple, list[str]]:
        from pypinyin import lazy_pinyin

        out: dict[tuple, list[str]] = {}
        for w in sorted(self.words, key=lambda w: -self.words[w]):
            if len(w) <= 4:
                out.setdefault(tuple(lazy_pinyin(w)), []).append(w)
        return out

    @functools.cached_property
    def _by_spelling(self) -> dict[str, str]:
        return {"".join(k): ws[0] for k, ws in self._by_sound.items()}

    @functools.cached_property
    def _lower_text(self) -> str:
        return self.corpus_text.lower()

    @functools.lru_cache(maxsize=4096)
    def known(self, word: str) -> bool:
        """The bulletins use the word (a BM25 term, anywhere in their text in any letter case — app for
        their APP — or as an alternative); asked for each question word by ``related``, ``idf`` and the
        evidence, so kept (a scan of every text)."""
        return word in self.words or word.lower() in self._lower_text or bool(self.alternatives(word))

    @functools.lru_cache(maxsize=4096)
    def alternatives(self, word: str) -> tuple[str, ...]:
        if len(word) < 2 or not _HAN.fullmatch(word) or word in self.words:
            return ()
        gap = r"[\u4e00-\u9fff]{0,2}?"
        pattern = re.compile(gap.join(map(re.escape, word)))
        found: dict[str, int] = {}
        for m in pattern.finditer(self.corpus_text):
            if len(m.group()) <= len(word) + 2:
                found[m.group()] = found.get(m.group(), 0) + 1
        return tuple(sorted(found, key=lambda w: -found[w])[:3])

    def related(self, words) -> dict[str, tuple[str, ...]]:
        """word → bulletin words nearest in meaning, for those of ``words`` the bulletins do not know
        (not numbers); empty without a ``RelatedWords``."""
        if self._related is None:
            return {}
        unknown = self._unused(words)
        return {w: alts for w, alts in self._related.related_many(unknown).items() if alts} if unknown else {}

    def _unused(self, words) -> list[str]:
        """Those of ``words`` the bulletins never use (not numbers)."""
        return [w for w in words if not w.isdigit() and not self.known(w)]

    @functools.cached_property
    def characters(self) -> frozenset:
        """The Chinese characters the bulletins use."""
        return frozenset(_HAN_CHAR.findall(self.corpus_text))

    def unheard_of(self, words) -> dict[str, float]:
        """word → the cosine of the bulletin word nearest to it in meaning, for those of ``words`` the
        bulletins never use that hold a character they never use either (not numbers): how far a case
        subject's 尘肺病 (0.70) or 两癌 (0.73) is from anything they say, against 带徒弟 (带徒 0.88).  A
        word made only of their characters is left out: jieba's cut of a question may glue their own
        wording into a word they lack (少裁 of 有没有谁家最后少裁了的: 裁 of 裁员).  Empty without a
        ``RelatedWords`` or while its vectors are made in the background."""
        if self._related is None:
            return {}
        new = [w for w in self._unused(words) if any(c not in self.characters for c in _HAN_CHAR.findall(w))]
        return self._related.nearest_cosine(new) if new else {}

    def idf(self, tokens) -> dict[str, float]:
        """The index's BM25 idf; a word the bulletins never use (which BM25 gives the largest idf)
        weighs that times how rare it is in everyday Chinese (``qa.tokens.rarity`` to the power
        ``unknown_word_rarity_power``): 喂奶 or 环卫工 still weigh nearly as much as a bulletin word seen
        once, 地方, 以后 or 那个 little, so that chatty words do not decide which sentence answers."""
        from .tokens import rarity

        out = self.index.idf(tokens)
        power = float(_SETTINGS["unknown_word_rarity_power"])
        for t in out:
            if power and not t.isdigit() and not self.known(t):
                out[t] *= rarity(t) ** power
        return out

    # -- a question in the bulletins' words
    def repair(self, text: str) -> str:
        """``text`` (normalised) with homophone typos, pinyin and English words replaced by bulletin words."""
        from .tokens import normalise

        text = _LATIN.sub(self._latin, normalise(text))
        return _HAN.sub(lambda m: self._homophones(m.group()), text)

    def written(self, text: str) -> str:
        """``text`` with spoken words in the written form the embedding model reads better (骑手有地方歇不
        → 骑手有地方休息不, 亚健康咋管 → 亚健康怎么管; ``qa/data/colloquial.json``): what a question is searched with."""
        for pattern, replacement in _COLLOQUIAL:
            text = pattern.sub(replacement, text)
        return text

    def words_of(self, text: str) -> list[str]:
        from .tokens import tokenize

        return tokenize(self.repair(text))

    def _latin(self, m: re.Match) -> str:
        w = m.group().lower()
        if w in self._english:
            return self._english[w]
        return self._by_spelling.get(w, m.group()) if len(w) >= 4 else m.group()

    def _homophones(self, run: str) -> str:
        if len(run) < 2:
            return run
        from pypinyin import lazy_pinyin

        from .tokens import real_word_at, word_spans

        sounds = lazy_pinyin(run)
        spans = None  # the run's words, cut once when a stretch first needs them
        out, i = [], 0
        while i < len(run):
            for n in (4, 3, 2):
                piece = run[i:i + n]
                if len(piece) < n or piece in self.corpus_text:
                    continue
                # a common word, or a stretch cutting one, is no typo: 兴化失业 is 兴化 + 失业, not 兴化市 + 业
                spans = spans if spans is not None else word_spans(run)
                if real_word_at(spans, i, i + n, _SETTINGS["typo_common_word_freq"]):
                    continue
                if _holds_grammar(spans, i, i + n):
                    continue
                cands = [w for w in self._by_sound.get(tuple(sounds[i:i + n]), ())
                         if set(w) & set(piece) and not _changes_grammar(piece, w)]
                if cands:
                    out.append(cands[0])
                    i += n
                    break
            else:
                out.append(run[i])
                i += 1
        return "".join(out)


def made_up(word: str) -> bool:
    """A word jieba's cut made up (in no dictionary) around a word of grammar (``_function_characters``):
    钱能 out of 钱能退, 咋管 out of 亚健康咋管 — no word a bulletin could hold."""
    from .tokens import dictionary_frequency

    return len(word) > 1 and dictionary_frequency(word) == 0 and bool(_FUNCTION_CHARACTERS.intersection(word))


def content_characters(text: str) -> list[str]:
    """The characters of ``text`` that jieba's cut leaves as one-character words, alone or in a word
    it made up around a word of grammar, and that are no words of grammar: 住 of 专家有公寓住吗, 私 of
    工伤能私了吗 (cut 能私), 算 of 加班费咋算 (咋算); not 能, 吗, 咋, 不."""
    from .tokens import cut

    return [c for w in cut(text) if len(w) == 1 or made_up(w)
            for c in w if _HAN.fullmatch(c) and c not in _FUNCTION_CHARACTERS]


def _holds_grammar(spans, start: int, end: int) -> bool:
    """The stretch holds a word of grammar (``_function_characters``), so it is no typo: one
    cut alone inside it (在县图书馆 is 在 + 县, not 在线; 把我 is not 把握), or a word jieba's cut made up
    (in no dictionary) that holds one (钱能退 is 钱 + 能, not 潜能)."""
    for a, b, w in spans:
        if b <= start or a >= end:
            continue
        if len(w) == 1 and w in _FUNCTION_CHARACTERS or made_up(w):
            return True
    return False


def _changes_grammar(piece: str, word: str) -> bool:
    """Taking ``word`` for ``piece`` would change one of its words of grammar (不发 → 补发, 几本 → 基本)."""
    return any(c != d and c in _FUNCTION_CHARACTERS for c, d in zip(piece, word))
