"""Answers: turn retrieved passages into a cited answer, a list of cases, or a plain refusal.

Default mode is extractive (no LLM): sentences are taken verbatim from the retrieved passages and
scored against the question by the embedding model (sentence vectors precomputed at index time),
by word overlap, and by whether they hold what the question asks for (its "slot": a figure in the
asked unit, a frequency, a service point, the noun after 什么/哪些); the best one to three form the
answer, each followed by its ``[n]`` citation.  Questions asking for examples (有没有…案例, 哪些做法 …) get one line per matching
article: place/organisation, title, one sentence, citation.

Refusal (``Answerer.support``): refused when the question names a place, person or organisation no
bulletin mentions, or when its best cosine does not rise far enough above the background — the
best cosines of 48 off-domain questions on this corpus, measured at index time — where "far enough"
grows with the share of the question's words that no bulletin uses.  README "Answers" has the
numbers behind the thresholds.

Every citation is verified before it is returned: the cited span must exist at its offsets in the
source text, and the answer sentence carrying the marker must be a substring of it (extractive)
or be supported by it (LLM mode, see ``qa.llm``).  Unsupported sentences are dropped.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from .articles import _ends_sentence
from .chunks import Chunk, Sentence
from .retrieve import Hit, Retriever, check_question

CASE_PATTERN = re.compile(
    r"案例|例子|事例|典型|经验做法|好做法|(哪些|什么|有何)(做法|经验|举措)|哪些(地方|工会|单位|企业)")
# intent words removed before searching, so "典型案例" in a passage does not outrank the topic
_CASE_WORDS = re.compile(r"有没有|有哪些|哪些|的?(典型)?(案例|例子|事例)|可以参考|可供参考|经验做法|好做法|做法|[?？]")
QUANTITY_PATTERN = re.compile(r"多少|几[个名家件次人条场支项位所天年届批期节]?|数量|规模|比例|金额|多大|多长|多高")
_CLASSIFIERS = "个名家件次人条场支项位所天年届批期节元台辆套本户座处间份册篇张块栋层岁"
_RE_UNIT = re.compile(rf"(?:多少|几)\s*(人次|[{_CLASSIFIERS}])")
# a figure is a number with a unit (not a date, a brand like "1958" or "1+N")
_RE_FIGURE = re.compile(rf"\d[\d.,]*\s*[万亿千百]?[余多]?\s*(?:人次|万元|亿元|小时|分钟|公里|平方米|[{_CLASSIFIERS}%％])")
_RE_DATE = re.compile(r"\d{4}年|\d{1,2}月\d{1,2}日|\d{1,2}月(?:份|初|底|中旬)?|\d{1,2}日")
FREQUENCY_PATTERN = re.compile(r"多久|多长时间|多少时间|几次|频率|每隔")
_RE_FREQUENCY = re.compile(r"每[天日周月季年]|[一每][天日周月季年][一两三四\d]?次|按[天日周月季年]|\d+[天日周月年]一次|一[季月年]一")
_RE_FOCUS = re.compile(r"(?:什么|哪些|啥|哪种|哪类)([\u4e00-\u9fff]{2,4}?)(?:了|呢|吗|啊)?[?？。!！]*$")
# generic question phrasing → how bulletins phrase the same thing (used for sentence scoring only)
SYNONYMS = {"一共": ("共", "总量", "合计", "总数"), "总共": ("共", "总量", "合计"), "总计": ("共", "总量", "合计"),
            "每年": ("年",), "每月": ("月",), "讨薪": ("欠薪", "拖欠", "追回"), "欠薪": ("拖欠", "追回", "工资"),
            "拖欠": ("欠薪", "追回"), "洗澡": ("淋浴",), "歇脚": ("休息",), "休息": ("歇脚",),
            "开货车": ("货车司机",), "卡车": ("货车",), "最后": ("最终",), "最终": ("最后",),
            "工资": ("薪资", "薪酬", "收入"), "涨": ("涨幅", "增长", "提高"), "名字": ("名称",), "设施": ("配备", "配有")}
# "who/where do I turn to" questions want the service point: a hotline, centre, station, legal aid …
WHERE_PATTERN = re.compile(r"找谁|找哪|向谁|问谁|哪里|哪儿|去哪|什么地方|怎么办|咋办|求助|投诉|反映")
_RE_SERVICE = re.compile(r"热线|服务中心|服务站|驿站|之家|窗口|法律援助|律师|服务平台|\d{5}")
# "有什么关爱措施/哪些做法": a category, not a word to find — any concrete action answers it, so the
# noun gets no slot bonus and little weight (the subject, 女职工, decides)
GENERIC_FOCUS = frozenset("措施 举措 做法 办法 方法 方式 形式 活动 工作 政策 内容 好处 项目 服务 帮助 经验".split())
GENERIC_WEIGHT = 0.2
# "最后/最终裁了多少人": the outcome, which bulletins report after the first figure ("最终仅裁员11人")
OUTCOME_WORDS = ("最后", "最终", "后来", "结果")
# tokens that are question phrasing, not content: 几个/多少/多久, verb+了, 有人, 怎么办 …
_RE_PHRASING = re.compile(r"^[几多]|了$|^(有人|一起|名字|名称|例子|案例|变化|怎么办|情况|哪些|什么|时候|现在|一下|知道)$")
ENTITY_TAGS = ("ns", "nr", "nt", "nz", "nrt", "nrfg")
# everyday words jieba's dictionary tags as names (福利/ns, 养老金/nr, 保安/nz), found by tagging ~120 words of
# worker vocabulary: they are topics, not places or people, so their absence is left to the evidence test
NOT_ENTITIES = frozenset({"福利", "养老金", "保安"})
_RE_ORG = re.compile(r"([\u4e00-\u9fff]{2,10}?(?:市|县|区|省|镇|自治区)?总工会)")

_MARK = re.compile(r"\[(\d+)\]")
_RE_LEAD_MARK = re.compile(r"^(本报讯|本刊讯)\s*([(（][^)）]{0,30}[)）])?\s*")
REFUSAL_TEXT = "抱歉，公报里没有找到与这个问题相关的内容，无法回答。"


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    title: str
    start: int
    end: int
    text: str
    verified: bool = True

    def to_json(self) -> dict:
        return {"n": self.n, "source": self.source, "title": self.title, "start": self.start,
                "end": self.end, "text": self.text, "verified": self.verified}


@dataclass(frozen=True)
class Case:
    title: str
    place: str
    sentence: str
    citation: int  # the [n] of the cited sentence
    source: str
    column: str


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    passages: list[Hit]
    refused: bool = False
    mode: str = "extractive"  # extractive | llm | extractive-fallback
    kind: str = "short"  # short | cases | refusal
    standalone_question: str = ""
    cases: list[Case] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    timings_ms: dict = field(default_factory=dict)
    notice: str = ""
    support: dict = field(default_factory=dict)

    def plain_text(self) -> str:
        return _MARK.sub("", self.text).strip()

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "passages": [
                {"rank": h.rank, "score": round(h.score, 4), "source": h.chunk.source, "title": h.chunk.title,
                 "column": h.chunk.column, "start": h.chunk.start, "end": h.chunk.end, "text": h.chunk.text}
                for h in self.passages],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "mode": self.mode,
            "kind": self.kind,
            "standalone_question": self.standalone_question or self.question,
            "cases": [c.__dict__ for c in self.cases],
            "topics": self.topics,
            "notice": self.notice,
            "support": self.support,
        }


# ---------------------------------------------------------------- follow-up questions

_FOLLOWUP_START = re.compile(r"^(那|那么|那个|还有|另外|此外|它|他们|她们|这个|这些|那些|其|具体|再|然后|并且|而且)")
_PRONOUN = re.compile(r"(它|他们|她们|这个|这些|那些|该|其|那里|这里|那边|这边)")


def _turn_questions(history: Sequence) -> list[str]:
    qs = []
    for t in history or ():
        if isinstance(t, dict):
            if t.get("role") == "user" and isinstance(t.get("content"), str):
                qs.append(t["content"])
            elif isinstance(t.get("q") or t.get("question"), str):
                qs.append(t.get("q") or t.get("question"))
        elif isinstance(t, (list, tuple)) and t and isinstance(t[0], str):
            qs.append(t[0])
        else:
            raise ValueError(f"history turn {t!r}: expected {{'role','content'}}, {{'q','a'}} or (question, answer)")
    return qs


def _places(text: str) -> list[str]:
    from .tokens import tag

    return [w for w, flag in tag(text) if flag == "ns" and len(w) >= 2]


def condense(question: str, history: Sequence = ()) -> str:
    """Resolve a short follow-up ("那江都呢?", "具体有哪些设施?") into a standalone question.

    Rule-based: when the question looks like a follow-up, a place it names replaces the place of
    the previous question; otherwise the previous question's subject is prepended.
    """
    prev = [q for q in _turn_questions(history) if q.strip()]
    if not prev:
        return question
    last = prev[-1].strip()
    q = question.strip()
    looks_followup = bool(_FOLLOWUP_START.match(q) or _PRONOUN.search(q) or len(q) <= 8 or q.endswith(("呢?", "呢？", "呢")))
    if not looks_followup:
        return question
    new_places = _places(q)
    old_places = _places(last)
    core = re.sub(r"^(那么|那|还有|另外|此外|然后)", "", q)
    core = re.sub(r"(呢|吗)?[?？]?$", "", core).strip()
    if new_places and old_places:
        out = last
        for op in old_places:
            out = out.replace(op, new_places[0])
        rest = core
        for np_ in new_places:
            rest = rest.replace(np_, "")
        return out if not rest.strip(" ,，的") else f"{out} {rest}"
    subject = re.sub(r"(多少|几|什么|怎么|如何|哪些|哪里|吗|呢|[?？。！!])", " ", last)
    subject = " ".join(subject.split())
    return f"{subject} {core}".strip()


# ---------------------------------------------------------------- helpers

def place_of(info: dict) -> str:
    """The place/organisation an article is about: a 总工会 or place name from its title, then its
    byline, then its first passage."""
    from .tokens import tag

    for text in (info.get("title", ""), info.get("byline", ""), info.get("text", "")[:80]):
        if not text:
            continue
        m = _RE_ORG.search(text)
        if m and len(m.group(1)) <= 12:
            return m.group(1)
        names = []
        for w, flag in tag(text):
            if flag == "ns" and len(w) >= 2:
                names.append(w)
            elif names:
                break
        if names:
            return "".join(names)
    return ""


def _clauses(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in re.finditer(r"[,，;；:：]|$", text):
        end = m.end()
        if end > start:
            out.append((start, end))
        start = end
    return out


def _trim(sentence: str, score_clause, limit: int = 90, must_have=None) -> tuple[int, int]:
    """The best window of whole clauses within ``limit`` characters (offsets into ``sentence``);
    when ``must_have`` accepts some clauses, the window keeps the best-scoring of them."""
    if len(sentence) <= limit:
        return 0, len(sentence)
    cl = _clauses(sentence)
    scores = [score_clause(sentence[a:b]) for a, b in cl]
    must = [i for i, c in enumerate(cl) if must_have and must_have(sentence[c[0]:c[1]])]
    must = [max(must, key=lambda i: scores[i])] if must else []
    best, best_span = -1e9, (0, min(len(sentence), limit))
    for i in range(len(cl)):
        total = 0.0
        for j in range(i, len(cl)):
            if cl[j][1] - cl[i][0] > limit and j > i:
                break
            total += scores[j]
            if must and not (i <= must[0] <= j):
                continue  # keep the clause that holds the asked figure / service point
            if cl[j][1] - cl[i][0] < min(24, len(sentence)) and j + 1 < len(cl):
                continue  # a scrap of a clause is no answer: grow the window
            if total > best:
                best, best_span = total, (cl[i][0], cl[j][1])
    a, b = best_span
    while b > a and sentence[b - 1] in ",，;；:：":  # do not end on a comma
        b -= 1
    return a, b


@dataclass(frozen=True)
class _Query:
    """What the sentence scorer needs to know about a question: its weighted words and its "slot",
    the kind of thing the answer must contain — a figure (多少/几, with the asked unit), a frequency
    (多久), a service point (找谁/哪里), or the noun after 什么/哪些."""

    tokens: dict  # content token → idf weight
    synonyms: dict  # content token → alternatives that also count as present
    unit: str = ""  # the measure word asked for (多少节课 → 节), or ""
    slot: str = ""  # "", "figure", "frequency", "service", "focus"
    focus: str = ""  # the noun after 什么/哪些
    outcome: str = ""  # 最后/最终 …: the question asks for the final figure or result

    def coverage(self, toks: set) -> float:
        total = sum(self.tokens.values()) or 1.0
        got = sum(w for t, w in self.tokens.items() if t in toks or any(x in toks for x in self.synonyms.get(t, ())))
        return got / total

    def figures(self, text: str) -> list[str]:
        return _RE_FIGURE.findall(_RE_DATE.sub(" ", text))

    def has_slot(self, text: str) -> bool:
        if self.slot == "figure":
            figs = self.figures(text)
            if not self.unit or self.unit == "个":  # 几个 is answered by 5家, 8支 …
                return bool(figs)
            return any(self.unit in f for f in figs)
        if self.slot == "frequency":
            return bool(_RE_FREQUENCY.search(text))
        if self.slot == "service":
            return bool(_RE_SERVICE.search(text))
        if self.slot == "focus":
            words = (self.focus, self.focus[-2:], *SYNONYMS.get(self.focus, ()), *SYNONYMS.get(self.focus[-2:], ()))
            return any(w in text for w in words) or (self.focus in ("名字", "名称") and "“" in text)
        return False

    def slot_bonus(self, text: str) -> float:
        """Score adjustment for a sentence: the asked thing present (more for a figure in the asked
        unit), or absent when the question wants a figure."""
        if self.slot == "figure":
            if self.has_slot(text):
                return 0.12 if self.unit else 0.06
            return 0.02 if self.figures(text) else -0.06
        return 0.08 if self.slot and self.has_slot(text) else 0.0


def analyse(question: str, idf) -> _Query:
    """Content words (with synonyms) and the slot of a question; ``idf(tokens) -> {token: weight}``."""
    from .tokens import tokenize

    toks = [t for t in dict.fromkeys(tokenize(question)) if len(t) >= 2 or t.isdigit()]
    syn = {t: SYNONYMS[t] for t in toks if t in SYNONYMS}
    for t in [t for t in SYNONYMS if t in question and t not in toks]:  # phrases jieba did not cut out
        toks.append(t)
        syn[t] = SYNONYMS[t]
    unit = _RE_UNIT.search(question)
    focus = _RE_FOCUS.search(question.strip())
    focus_word = focus.group(1) if focus else ""
    generic = bool(focus_word) and (focus_word in GENERIC_FOCUS or focus_word[-2:] in GENERIC_FOCUS)
    if FREQUENCY_PATTERN.search(question):
        slot = "frequency"
    elif QUANTITY_PATTERN.search(question):
        slot = "figure"
    elif WHERE_PATTERN.search(question):
        slot = "service"
    elif focus_word and not generic:
        slot = "focus"
    else:
        slot = ""
    weights = idf(toks) if toks else {}
    if generic:
        weights = {t: w * GENERIC_WEIGHT if t in GENERIC_FOCUS else w for t, w in weights.items()}
    return _Query(weights, syn, unit.group(1) if unit else "", slot,
                  "" if generic else focus_word,
                  next((w for w in OUTCOME_WORDS if w in question), ""))


# ---------------------------------------------------------------- the answerer

class Answerer:
    """The one call the CLI and the app use: ``Answerer(index).ask(question, history=[])``."""

    Z_STRONG = 4.0  # best match this many background spreads above off-domain questions: on topic
    Z_WEAK = 3.0  # ... or this many, when most of the question's words are in the top passages
    COVERAGE = 0.6

    def __init__(self, index, embedder=None, *, k: int = 5, fusion: str = "adaptive", llm=None,
                 z_strong: float | None = None, z_weak: float | None = None, coverage: float | None = None):
        if k < 1:
            raise ValueError(f"k={k}: must be at least 1")
        self.index = index
        if z_strong is not None:
            self.Z_STRONG = z_strong
        if z_weak is not None:
            self.Z_WEAK = z_weak
        if coverage is not None:
            self.COVERAGE = coverage
        self.retriever = Retriever(index, embedder, fusion=fusion)
        self.k = k
        self.llm = llm
        if llm is not None and getattr(llm, "embedder", None) is None:
            llm.embedder = self.retriever.embedder  # for the support check of LLM sentences
        self._sent_by_chunk = index.sentence_ids_by_chunk()

    # -- public API
    def warm_up(self) -> None:
        """Load the model, the word cutter and the index lookups now, not in the first question."""
        from .tokens import tokenize

        self.retriever.embedder.encode_queries(["工会"])
        tokenize("工会职工")
        self.missing_entities("滨海县总工会")  # loads jieba's tagger and the corpus text
        self.index.idf(["工会"])
        self.index.tokens_of(self.index.chunks[0]) if self.index.chunks else None

    def ask(self, question: str, history: Sequence = (), *, k: int | None = None) -> Answer:
        answer = None
        for piece in self.ask_stream(question, history, k=k):
            if isinstance(piece, Answer):
                answer = piece
        return answer

    def ask_stream(self, question: str, history: Sequence = (), *, k: int | None = None) -> Iterator[str | Answer]:
        """Yield text pieces of the answer as they are ready, then the final ``Answer``."""
        t_start = time.perf_counter()
        question = check_question(question)
        k = k or self.k
        standalone = condense(question, history) if history else question
        if self.llm is not None and history:
            standalone = self.llm.condense(question, history, fallback=standalone)
        want_cases = bool(CASE_PATTERN.search(standalone))
        search_q = (_CASE_WORDS.sub(" ", standalone).strip() or standalone) if want_cases else standalone
        retrieval = self.retriever.retrieve_many([search_q], k=max(k, 60) if want_cases else max(k, 8))[0]
        t_ret = time.perf_counter()
        hits = retrieval.hits
        q = self._query(search_q)  # analysed once: refusal, sentence choice and cases share it
        support = self.support(search_q, hits, retrieval.top_dense, q)
        if not support["supported"]:
            ans = self._refusal(question, standalone, hits[:k], support.get("missing", ()))
        elif want_cases:
            ans = self._cases(question, standalone, k, retrieval, q)
            ans.passages = hits[:k]
        else:
            ans = self._short(question, standalone, hits, retrieval.query_vector, k, q)
        if self.llm is not None and not ans.refused:
            from .llm import LLMError

            try:
                for piece in self.llm.answer_stream(standalone, hits[:k], self.index):
                    if isinstance(piece, str):
                        yield piece
                    else:
                        piece.question, piece.standalone_question = question, standalone
                        ans = piece
            except LLMError as e:
                ans.mode = "extractive-fallback"
                ans.notice = f"LLM 不可用（{e}），显示摘录式答案"
                yield ans.text
        else:
            yield from _pieces(ans.text)
        now = time.perf_counter()
        ans.timings_ms = {"embed": retrieval.timings_ms.get("embed", 0.0), "search": retrieval.timings_ms.get("search", 0.0),
                          "answer": (now - t_ret) * 1000, "total": (now - t_start) * 1000}
        ans.support = support
        yield ans

    # -- refusal
    def support(self, question: str, hits: list[Hit], top_dense: float, q: "_Query | None" = None) -> dict:
        """Is there support for answering?

        - z: the best cosine against the index, in spreads above the background (the best cosines
          that off-domain questions reach on this corpus with this model, measured at index time);
        - coverage: the IDF-weighted share of the question's content words found in the top passages;
        - unknown: the share of its content words that no bulletin uses (see ``unknown_share``);
        - missing: places/people/organisations it names that no bulletin mentions.
        Supported when nothing is missing and z >= Z_STRONG·(1 + 2·unknown), or z >= Z_WEAK·(1 + 2·unknown)
        with coverage >= COVERAGE.
        """
        if not hits:
            return {"supported": False, "z": 0.0, "coverage": 0.0, "unknown": 0.0, "missing": []}
        missing = self.missing_entities(question)
        cal = self.index.manifest.get("calibration") or {}
        z = (top_dense - cal.get("background_mean", 0.0)) / (cal.get("background_std") or 1.0)
        q = q or self._query(question)
        toks: set = set()
        for h in hits[:3]:
            toks.update(self.index.tokens_of(h.chunk))
        coverage = q.coverage(toks) if q.tokens else 0.0
        unknown = self.unknown_share(q)
        bar = 1 + 2 * unknown  # words the bulletins never use: ask for stronger evidence
        supported = not missing and (z >= self.Z_STRONG * bar or (z >= self.Z_WEAK * bar and coverage >= self.COVERAGE))
        return {"supported": bool(supported), "z": round(float(z), 2), "coverage": round(coverage, 3),
                "unknown": round(unknown, 3), "missing": missing}

    def _corpus_text(self) -> str:
        text = self.index._cache.get("all_text")
        if text is None:
            text = self.index._cache["all_text"] = "\n".join(self.index.texts.values())
        return text

    def unknown_share(self, q: "_Query") -> float:
        """IDF-weighted share of the question's content words that no bulletin uses (nor a synonym),
        question phrasing (几个, 多久, 发了 …) aside.  会费, 仲裁, 夜班 … make a question the bulletins
        are unlikely to answer, however close its other words come."""
        vocab = self.index.bm25.vocab if self.index.bm25 is not None else {}
        corpus = self._corpus_text()
        total = unknown = 0.0
        for t, w in q.tokens.items():
            if _RE_PHRASING.search(t) or (q.unit and t.startswith(q.unit)):  # 多少册书 → "册书"
                continue
            total += w
            forms = (t, *q.synonyms.get(t, ()))
            if not any(f in vocab or f in corpus for f in forms):
                unknown += w
        return unknown / total if total else 0.0

    def missing_entities(self, question: str) -> list[str]:
        """Places, people and organisations the question names that no bulletin mentions (东莞, 张三 …):
        whatever the retrieval finds, the bulletins cannot be about them."""
        from .tokens import normalise, tag

        corpus = self._corpus_text()
        out = []
        for w, flag in tag(normalise(question)):
            if flag in ENTITY_TAGS and len(w) >= 2 and w not in NOT_ENTITIES and not re.fullmatch(r"[a-z0-9]+", w):
                forms = {w, re.sub(r"(市|县|区|省|镇|村|州)$", "", w)}
                if not any(f and len(f) >= 2 and f in corpus for f in forms):
                    out.append(w)
        return out

    def _refusal(self, question: str, standalone: str, hits: list[Hit], missing: Sequence[str] = ()) -> Answer:
        topics = self.nearby_topics(hits)
        head = (f"抱歉，公报里没有提到“{'”“'.join(missing)}”，无法回答。" if missing else REFUSAL_TEXT)
        text = head + ("公报里有这些相关话题：" + "；".join(topics) + "。" if topics else "")
        return Answer(question, text, [], hits, refused=True, kind="refusal", standalone_question=standalone,
                      topics=topics)

    def nearby_topics(self, hits: list[Hit], n: int = 3) -> list[str]:
        seen, out = set(), []
        for h in hits:
            key = (h.chunk.source, h.chunk.article)
            if key not in seen:
                seen.add(key)
                out.append(self.index.article_title(*key))
            if len(out) == n:
                break
        return out

    # -- sentence scoring
    def _query(self, question: str) -> _Query:
        return analyse(question, self.index.idf)

    def _scored_sentences(self, q: _Query, hits: list[Hit], qvec) -> list[tuple[float, int, Hit]]:
        """(score, sentence id, hit) for the sentences of ``hits``, best first.

        score = cosine(question, sentence) + 0.35·coverage(sentence) + 0.25·coverage(sentence + the
        sentence before it + article title) + a bonus for numbers (and the asked unit) when the
        question asks how many + a little for the passage's rank.
        """
        sents, vecs = self.index.sentences, self.index.sentence_vectors
        seen: set[int] = set()
        out = []
        top = max(1e-6, hits[0].score) if hits else 1.0
        for h in hits:
            for sid in self._sent_by_chunk.get(h.chunk.id, ()):
                if sid in seen:
                    continue
                seen.add(sid)
                s = sents[sid]
                dense = float(vecs[sid].astype(np.float32) @ qvec) if vecs is not None and qvec is not None else 0.0
                own = set(self.index.sentence_tokens(sid))
                score = (dense + 0.4 * q.coverage(own) + 0.2 * self._context_coverage(q, sid, h.chunk)
                         + q.slot_bonus(s.text)
                         + 0.03 * h.score / top - (0.1 if len(s.text) < 8 else 0.0)
                         - (0.15 if not _ends_sentence(s.text) and len(s.text) < 30 else 0.0))  # a bare heading
                out.append((score, sid, h))
        out.sort(key=lambda x: -x[0])
        return out

    def _context_coverage(self, q: _Query, sid: int, chunk: Chunk) -> float:
        """Coverage of the question by a sentence in its context: itself, the two sentences before
        it (the subject is often named there), the article's title and its opening sentences."""
        toks = set(self.index.sentence_tokens(sid)) | set(self._title_tokens(chunk)) | self._lead_tokens(chunk)
        for j in (sid - 1, sid - 2):
            if j >= 0 and self._same_report(j, sid):
                toks |= set(self.index.sentence_tokens(j))
        return q.coverage(toks)

    def _same_report(self, i: int, j: int) -> bool:
        """Sentences ``i`` and ``j`` belong to the same article."""
        a, b = self.index.sentences[i], self.index.sentences[j]
        return a.source == b.source and a.article == b.article

    def _lead_tokens(self, chunk: Chunk, n: int = 3) -> set[str]:
        """Words of the article's first ``n`` sentences: where a report names its subject
        ("无锡华光…装备事业部(以下简称“华光装备”)"), which later sentences leave out."""
        cache = self.index._cache.setdefault("lead_tokens", {})
        key = (chunk.source, chunk.article)
        if key not in cache:
            ids = self.index.sentence_ids_by_article().get(key, [])[:n]
            cache[key] = {t for i in ids for t in self.index.sentence_tokens(i)}
        return cache[key]

    def _outcome_sentence(self, q: _Query, best: int) -> int | None:
        """For 最后/最终 questions whose best sentence gives the first figure: a sentence shortly after
        it in the same report that states the outcome (最终仅裁员11人), else None."""
        sents = self.index.sentences
        forms = (q.outcome, *SYNONYMS.get(q.outcome, ()))
        if any(f in sents[best].text for f in forms):
            return None
        for j in range(best + 1, min(best + 4, len(sents))):
            if not self._same_report(j, best):
                break
            if any(w in sents[j].text for w in OUTCOME_WORDS) and (not q.slot or q.has_slot(sents[j].text)):
                return j
        return None

    def _title_tokens(self, chunk: Chunk) -> list[str]:
        from .tokens import tokenize

        cache = self.index._cache.setdefault("title_tokens", {})
        if chunk.context not in cache:
            cache[chunk.context] = tokenize(chunk.context)
        return cache[chunk.context]

    def _clause_scorer(self, q: _Query):
        from .tokens import tokenize

        def score(clause: str) -> float:
            return q.coverage(set(tokenize(clause))) + 3 * q.slot_bonus(clause) - 0.002 * len(clause)

        return score

    def _cite(self, sid: int, n: int, q: _Query, *, limit: int = 90) -> tuple[str, Citation] | None:
        """The (possibly trimmed) sentence text and its verified citation, or None if it does not verify."""
        s: Sentence = self.index.sentences[sid]
        a, b = _trim(s.text, self._clause_scorer(q), limit, q.has_slot if q.slot else None)  # keep the asked thing
        lead = _RE_LEAD_MARK.match(s.text[a:b])  # "本报讯(记者…)" is dateline, not content
        if lead and lead.end() < b - a:
            a += lead.end()
        part = s.text[a:b]
        spans, pos = [], 0
        for x, y in s.spans:  # [a, b) of the sentence text → source offsets
            lo, hi = max(a, pos), min(b, pos + (y - x))
            if hi > lo:
                spans.append((x + lo - pos, x + hi - pos))
            pos += y - x
        if not spans or not part:
            return None
        start, end = spans[0][0], spans[-1][1]
        cited = self.index.texts.get(s.source, "")[start:end]
        if _squash(part) not in _squash(cited):
            return None
        return part, Citation(n, s.source, self.index.article_title(s.source, s.article), start, end, cited)

    # -- answers
    def _short(self, question, standalone, hits, qvec, k, q=None) -> Answer:
        q = q or self._query(standalone)
        scored = self._scored_sentences(q, hits[:k], qvec)
        if not scored:
            return self._refusal(question, standalone, hits[:k])
        best_score, best, best_hit = scored[0]
        chosen = [best]
        sents = self.index.sentences
        # the sentence before carries the subject the best one leaves out ("该公司…" / "提合理化建议37条")
        prev = best - 1
        outcome = self._outcome_sentence(q, best) if q.outcome else None
        if outcome is not None:
            chosen.append(outcome)
        elif (prev >= 0 and self._same_report(prev, best)
                and q.coverage(set(self.index.sentence_tokens(prev)) | set(self.index.sentence_tokens(best)))
                > q.coverage(set(self.index.sentence_tokens(best))) + 0.2
                and len(sents[prev].text) + len(sents[best].text) <= 130):
            chosen.insert(0, prev)
        elif q.slot and not q.has_slot(sents[best].text):
            # the best sentence names the subject but not the asked thing ("巨港…不满意。" before
            # "县总…免费为568名职工体检"): add the sentence that has it — nearby in the same article
            # first, else the best candidate that has it
            same = [(sc, sid) for sc, sid, _ in scored[1:]
                    if self._same_report(sid, best) and 0 < abs(sid - best) <= 3 and q.has_slot(sents[sid].text)]
            other = [(sc, sid) for sc, sid, _ in scored[1:12] if q.has_slot(sents[sid].text) and sc >= best_score - 0.3]
            if same or other:
                chosen.append(max(same or other)[1])
                chosen.sort(key=lambda i: (sents[i].source, sents[i].start))
        elif len(scored) > 1:
            sc2, sid2, hit2 = scored[1]
            if (sc2 >= best_score - 0.03 and len(sents[sid2].text) + len(sents[best].text) <= 150
                    # another report only if it is as much about what the question names (华光装备)
                    and (self._same_report(sid2, best) or self._context_coverage(q, sid2, hit2.chunk)
                         >= self._context_coverage(q, best, best_hit.chunk) - 0.05)):
                chosen.append(sid2)
                chosen.sort(key=lambda i: (sents[i].source, sents[i].start))
        parts, cits = [], []
        for sid in chosen:
            got = self._cite(sid, len(cits) + 1, q, limit=90 if len(chosen) == 1 else 70)
            if got is None:
                continue
            part, c = got
            parts.append(f"{part}[{c.n}]")
            cits.append(c)
        if not cits:
            return self._refusal(question, standalone, hits[:k])
        return Answer(question, "".join(parts), cits, hits[:k], standalone_question=standalone)

    def _cases(self, question, standalone, k, retrieval=None, q=None) -> Answer:
        from .cases import find_cases

        found = find_cases(self, standalone, k=max(k, 6), retrieval=retrieval, analysed=q)
        if not found:
            return self._refusal(question, standalone, [])
        lines, cits, cases = [], [], []
        for i, r in enumerate(found, 1):
            cits.append(Citation(i, r.source, r.title, r.start, r.end, r.cited))
            cases.append(Case(r.title, r.place, r.sentence, i, r.source, r.column))
            lines.append(f"{i}. {r.place + '：' if r.place else ''}《{r.title}》——{r.sentence}[{i}]")
        text = f"找到 {len(cases)} 篇相关报道：\n" + "\n".join(lines)
        return Answer(question, text, cits, [], kind="cases", cases=cases, standalone_question=standalone)


def _pieces(text: str) -> Iterator[str]:
    """An extractive answer in display pieces: each cited sentence (up to its [n]) or line."""
    for m in re.finditer(r".*?(?:\[\d+\]|\n|$)", text, re.S):
        if m.group():
            yield m.group()


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def verify_answer(answer: Answer, source_text) -> list[str]:
    """Problems with an answer's citations (empty when all verify); ``source_text(source) -> str``."""
    problems = []
    by_n = {c.n: c for c in answer.citations}
    for m in _MARK.finditer(answer.text):
        if int(m.group(1)) not in by_n:
            problems.append(f"[{m.group(1)}] has no citation")
    for c in answer.citations:
        text = source_text(c.source)
        if text[c.start:c.end] != c.text:
            problems.append(f"[{c.n}] {c.source}[{c.start}:{c.end}] does not match its text")
    return problems

