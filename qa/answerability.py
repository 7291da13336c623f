"""Answerability: do the bulletins answer this question?  Decided from evidence about the thing
asked, in two steps, never from vocabulary alone:

1. **Is the subject in the bulletins?**  How far the best passage stands above the background
   (off-domain everyday questions matched against this corpus with this model, at index time), and
   the **hub score**: how much better the question matches its best candidate sentence than
   questions of the same domain typically do.  Each sentence s has a reach r(s), the mean cosine of
   its ``HUB_K`` closest in-domain background questions (700 labour-law and social-insurance
   questions in ``qa/data/domain_questions.txt``, embedded at index time); the hub score is the
   largest cos(q, s) − r(s) over the candidate sentences, in spreads of the background's best
   sentence cosines (so the fitted weights see it on the scale of the z scores).  A general sentence ("维护职工合法权益")
   that every labour question comes close to has a high reach, so coming close to it proves
   nothing; a question that matches a sentence much better than the domain does is about what that
   sentence says.  Also reported (not in the fitted model): how much of the question's
   IDF-weighted wording the top passages share (typos, pinyin and everyday words first mapped onto
   the bulletins' words, see ``qa.vocabulary``).
2. **Does the best candidate hold what is asked?**  When the question asks for a detail with a
   recognisable form (a figure in a unit, a price, a phone number, a clock time, a date, a person,
   a frequency, a service point — ``qa.question``), whether the best sentences contain one.  For
   a case list, whether its subject alone (``Question.topic``: 无偿献血 out of
   各地工会组织职工无偿献血的做法) comes close enough to a sentence (``z_topic``: the best sentence
   of its closest passages, in the background's sentence spreads; a reported activity is said in
   one sentence, and on tune this tells reported from unreported subjects a little better than the
   best passage does, AUC 0.795 against 0.789): the request's union frame comes close to every
   report, so the whole question's evidence cannot tell a reported activity from an unreported one.
   A subject whose every word the bulletins use is reported (``Evidence.topic_heard``): 健康, all
   that is left of 企业工会做职工健康服务 案例, says too little to the model on its own to judge it by.
   And whether a word of that subject is one the bulletins never use, with a character they never
   use, that no word of theirs comes near in meaning (``Evidence.far``, the embedding model's cosine to the nearest of their words:
   尘肺病 0.70, 两癌 0.73, 错峰 0.73, where a staff member's own wording of a reported activity stays
   close — 带徒弟 → 带徒 0.88, 讨薪 → 欠薪 0.88): the list is refused as "公报里没有提到“尘肺病”".

The evidence goes into a logistic model whose few numbers are fitted on the tune questions only
(``python -m qa tune eval/tune.jsonl``) and stored in ``qa/data/answerability.json`` with the
operating point chosen there.  A question naming a real place, person or organisation that no
bulletin mentions (``qa.names``) is refused as "not mentioned" whatever the evidence — unless it
is a place in, or around, the place the answer's article is about (a worker in 芜湖 asking about
安徽's 12351 hotline).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from .names import encloses, missing_names, names_in, places_in, same_or_nested
from .wordlists import table

# what the fitted model may read (qa/data/answerability.json names the ones it does); coverage, gap
# and known are reported but were left out: on the tune questions (5-fold) they added nothing
FEATURES = ("z_passage", "z_sentence", "hub")
HUB_K = 10  # a sentence's reach: mean cosine of its 10 closest in-domain background questions (5/10/30 tied on tune)
# slots whose absence from the answer means the bulletins do not give what is asked
DETAIL_SLOTS = frozenset({"figure", "rate", "money", "price", "phone", "clock", "date", "person", "duration", "procedure", "which", "name",
                          "address", "legal", "identity", "members"})


@dataclass(frozen=True)
class Evidence:
    z_passage: float  # best passage cosine, in background spreads
    z_sentence: float  # best sentence cosine (top passages), in background spreads
    hub: float  # max over candidate sentences of cos(q, s) - r(s) (r(s): the sentence's in-domain reach), in background spreads
    coverage: float  # IDF-weighted share of the question's words in the top passages
    answer_coverage: float  # ... in the answer's sentences in context (title, lead, sentences before)
    gap: float  # the largest IDF share of one question word absent from the top passages
    known: float  # IDF-weighted share of the question's words the bulletins use at all
    slot: str  # what the question asks for ("" when nothing in particular)
    slot_found: bool  # the answer's sentences hold it (in the form asked: a rate, a list)
    missing: tuple[str, ...] = ()  # real names in the question that no bulletin mentions
    # a case question's subject alone (``Question.topic``): its best sentence cosine among its closest
    # passages, in the background's sentence spreads (its best passage's without sentence vectors)
    z_topic: float | None = None
    # the weight (idf) of the question's rarest word when one of the answer's sentences holds all its
    # words as written (``Question.rarest_held``), else 0
    held: float = 0.0
    # a case question's subject words the bulletins never use, holding a character they never use,
    # each with the cosine of the bulletin word nearest to it in meaning (尘肺病 0.70: nothing they
    # say comes near it; ``Vocabulary.unheard_of``)
    far: tuple[tuple[str, float], ...] = ()
    # every word of a case question's subject is one the bulletins use (健康 of 企业工会做职工健康服务 案例):
    # reported words, however little a word or two says to the embedding model on its own
    topic_heard: bool = False

    @property
    def looked_up(self) -> bool:
        """A who-is question about a person the bulletins name, answered by a sentence naming them
        (韩文豪是谁): the sentence is the evidence, however little the question's vector says."""
        return self.slot == "identity" and self.slot_found

    @property
    def detail_missing(self) -> bool:
        """A detail with a recognisable form was asked and the answer does not hold it."""
        return self.slot in DETAIL_SLOTS and not self.slot_found

    def vector(self, features=FEATURES) -> list[float]:
        """The subject evidence a model reads (step 1), in the order of ``features``."""
        return [getattr(self, f) for f in features]

    def to_json(self) -> dict:
        return {"z_passage": round(self.z_passage, 3), "z_sentence": round(self.z_sentence, 3), "hub": round(self.hub, 4),
                "coverage": round(self.coverage, 3), "answer_coverage": round(self.answer_coverage, 3),
                "gap": round(self.gap, 3), "known": round(self.known, 3), "slot": self.slot,
                "slot_found": self.slot_found, "missing": list(self.missing),
                "z_topic": None if self.z_topic is None else round(self.z_topic, 3), "held": round(self.held, 3),
                "far": [[w, round(c, 4)] for w, c in self.far], "topic_heard": self.topic_heard}

    @classmethod
    def from_json(cls, d: dict) -> "Evidence":
        """The evidence an answer's ``support`` carries (``to_json``, with the decision's keys beside it)."""
        return cls(d["z_passage"], d["z_sentence"], d["hub"], d["coverage"], d["answer_coverage"], d["gap"], d["known"],
                   d["slot"], d["slot_found"], tuple(d["missing"]), d.get("z_topic"), d.get("held", 0.0),
                   tuple((w, float(c)) for w, c in d.get("far", ())), bool(d.get("topic_heard", False)))


@dataclass(frozen=True)
class AnswerabilityModel:
    """p(answerable) = sigmoid(bias + Σ weight·feature); answered when p ≥ threshold.  ``features``
    names the ``Evidence`` fields the weights belong to (a subset of ``FEATURES``)."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    features: tuple[str, ...] = ("z_passage", "hub")
    # a case list is refused when its subject alone stands less than this above the background (None: never)
    case_topic_min_z: float | None = None
    # weak subject evidence is enough when the answer holds the question word for word and its rarest
    # word weighs at least this (``Evidence.held``; None: never)
    held_min_idf: float | None = None
    # a case list is refused when a word of its subject is one the bulletins never use and the bulletin
    # word nearest to it in meaning is less close than this (``Evidence.far``; None: never)
    case_word_min_cosine: float | None = None
    # weak subject evidence is also enough when the answer shows the asked detail in its own form (a price,
    # a length of time, a clock time …: ``shown_slots``), holds at least ``shown_min_coverage`` of the
    # question's words in context and p is at least ``shown_min_p`` (None: never)
    shown_min_p: float | None = None
    shown_min_coverage: float = 1.0
    shown_slots: frozenset = frozenset()

    def __post_init__(self):
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown or len(self.features) != len(self.weights):
            raise ValueError(f"answerability model: features {self.features} do not match weights {self.weights} "
                             f"(known features: {FEATURES})")

    @classmethod
    def from_json(cls, d: dict) -> "AnswerabilityModel":
        topic, held, word = d.get("case_topic_min_z"), d.get("held_min_idf"), d.get("case_word_min_cosine")
        shown = d.get("shown_detail") or {}
        return cls(tuple(float(w) for w in d["weights"].values()), float(d["bias"]), float(d["threshold"]),
                   tuple(d["weights"]), None if topic is None else float(topic), None if held is None else float(held),
                   None if word is None else float(word),
                   None if shown.get("min_p") is None else float(shown["min_p"]), float(shown.get("min_coverage", 1.0)),
                   frozenset(shown.get("slots", ())))

    @classmethod
    def default(cls) -> "AnswerabilityModel":
        return cls.from_json(table("answerability"))

    @classmethod
    def always(cls) -> "AnswerabilityModel":
        """Answers every question it is asked (unless it names something no bulletin mentions)."""
        return cls((0.0,), 10.0, 0.5, ("z_passage",))

    def probability(self, ev: Evidence) -> float:
        return self.probability_of(ev.vector(self.features))

    def probability_of(self, vector) -> float:
        s = self.bias + sum(w * x for w, x in zip(self.weights, vector))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, s))))

    def veto(self, ev: Evidence) -> str:
        """Why the question is refused whatever the subject evidence says ("" when nothing vetoes it):
        a name no bulletin mentions, the asked detail absent from the answer, or a case list whose
        subject names something nothing in the bulletins comes near (``absent``: 尘肺病) or whose subject
        alone is not close enough to any sentence (无偿献血: the union frame of 各地工会组织职工…的做法
        comes close to every report; the activity itself to none)."""
        if ev.missing:
            return "missing_name"
        if ev.detail_missing:
            return "detail_missing"
        if self.absent(ev):
            return "subject_absent"
        if (ev.z_topic is not None and self.case_topic_min_z is not None and ev.z_topic < self.case_topic_min_z
                and not ev.topic_heard):
            return "topic_missing"
        return ""

    def absent(self, ev: Evidence) -> tuple[str, ...]:
        """The words of a case question's subject that nothing in the bulletins comes near (尘肺病, 两癌,
        防汛: no report of the activity asked for, however close its union frame comes to some)."""
        if self.case_word_min_cosine is None:
            return ()
        return tuple(w for w, c in ev.far if c < self.case_word_min_cosine)

    def held_word_for_word(self, ev: Evidence) -> bool:
        """A sentence of the answer holds every word of the question as written, one of them not common
        in the bulletins: evidence about the thing asked that a short question's vector lacks (有义诊不
        sits at z 3 against 7–8 for long questions, but the one sentence on 义诊 answers it)."""
        return self.held_min_idf is not None and ev.held > 0 and ev.held >= self.held_min_idf

    def shows_detail(self, ev: Evidence, p: float) -> bool:
        """The answer gives the asked detail in its own form (学烘焙要钱不 → 为职工提供免费的…培训; 提意见多久能有回复
        → 在48小时内闭环回复) and holds most of the question's words: evidence about the thing asked that a short
        question's vector lacks, taken above a lower floor of p."""
        return (self.shown_min_p is not None and ev.slot_found and ev.slot in self.shown_slots
                and ev.answer_coverage >= self.shown_min_coverage and p >= self.shown_min_p)

    def decide(self, ev: Evidence) -> dict:
        """Answer when nothing vetoes it (step 2: no named thing missing, the asked detail in the
        answer, a case list's subject in the bulletins) and the subject evidence is strong enough
        (step 1), or the answer holds the question word for word, or shows the asked detail."""
        p = self.probability(ev)
        veto = self.veto(ev)
        weak = p < self.threshold and not self.held_word_for_word(ev) and not ev.looked_up and not self.shows_detail(ev, p)
        why = veto or ("weak_evidence" if weak else "")
        return {"supported": not why, "p": round(p, 4), "why": why, **ev.to_json(),
                "absent": list(self.absent(ev)) if why == "subject_absent" else []}


class EvidenceReader:
    """Computes ``Evidence`` for a question against one index."""

    def __init__(self, index, vocabulary, chooser, places_of=None, reported_places=None):
        """``places_of(sentence id)``: the divisions the sentence's article is about (安徽省 for the
        12351 hotline report), so that a place no bulletin names but that lies in one of them (芜湖),
        or that holds one (南京 for a report on its 江宁区), is not "missing" from an answer taken
        from that article.  ``reported_places()``: the divisions some report is about (its title,
        byline or first words name them), so that a place the bulletins mention only in passing (深圳 in an award's
        name) is missing from an answer about another place."""
        self.index = index
        self.vocabulary = vocabulary
        self.chooser = chooser
        self.places_of = places_of
        self.reported_places = reported_places
        cal = index.manifest.get("calibration") or {}
        self._passage_bg = (float(cal.get("background_mean", 0.0)), float(cal.get("background_std") or 1.0))
        self._sentence_bg: tuple[float, float] | None = None
        self._reach = np.zeros(0, np.float32)  # r(s) by sentence id, NaN until computed
        self._reach_lock = threading.Lock()

    def reach(self, ids: np.ndarray) -> np.ndarray:
        """r(s) for sentence ``ids``: the mean cosine of each sentence's ``HUB_K`` closest in-domain
        background questions (computed on first use, then kept)."""
        with self._reach_lock:
            return self._reach_of(ids)

    def _reach_of(self, ids: np.ndarray) -> np.ndarray:
        n = len(self.index.sentences)
        if len(self._reach) < n:  # first use, or sentences added since
            self._reach = np.concatenate([self._reach, np.full(n - len(self._reach), np.nan, np.float32)])
        todo = ids[np.isnan(self._reach[ids])]
        if len(todo):
            dom, vecs = self.index.domain_vectors(), self.index.sentence_vectors
            if len(dom) and vecs is not None:
                sims = dom.astype(np.float32) @ vecs[todo].astype(np.float32).T  # questions × sentences
                k = min(HUB_K, len(dom))
                self._reach[todo] = np.sort(sims, axis=0)[-k:].mean(axis=0)
            else:
                self._reach[todo] = 0.0
        return self._reach[ids]

    def sentence_background(self) -> tuple[float, float]:
        """Mean and spread of the background questions' best sentence cosines (computed once)."""
        if self._sentence_bg is None:
            bg, vecs = self.index.background_vectors(), self.index.sentence_vectors
            if vecs is None or not len(vecs) or not len(bg):
                self._sentence_bg = self._passage_bg
            else:
                tops = (bg.astype(np.float32) @ vecs.astype(np.float32).T).max(axis=1)
                self._sentence_bg = (float(tops.mean()), max(float(tops.std()), 1e-3))
        return self._sentence_bg

    def read(self, q, hits, top_dense: float, scored, chosen, qvec, topic=None, earlier=()) -> Evidence:
        """``q``: the analysed question; ``hits``: retrieval hits; ``scored``: the chooser's ranking
        of their sentences; ``chosen``: the sentences an answer would give; ``qvec``: the question's
        vector; ``topic``: how close the bulletins come to a case question's subject alone
        (``Retriever.closeness``); ``earlier``: for a follow-up that takes the earlier subject, the
        sentences the conversation's last answer cited (an asked detail must come from their reports)."""
        missing = tuple(missing_names(q.text, self.index.corpus_text()))
        if missing and chosen and self.places_of is not None:  # 我在芜湖打了12351: 安徽's hotline covers 芜湖
            around = self._places_about(chosen)
            missing = tuple(m for m in missing if not any(same_or_nested(m, p) for p in around))
        if not missing and chosen and not q.wants_cases and self.places_of is not None and self.reported_places is not None:
            missing = self._places_elsewhere(q, chosen)
        m, s = self._passage_bg
        z_topic = None
        if topic is not None and topic.sentence is not None:  # a reported activity is said in a sentence
            sm, ss = self.sentence_background()
            z_topic = (topic.sentence - sm) / ss
        elif topic is not None:
            z_topic = (topic.passage - m) / s
        far = tuple(self.vocabulary.unheard_of(q.topic_words).items()) if q.wants_cases else ()
        if not hits:
            return Evidence(0.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, q.slot, False, missing, z_topic, 0.0, far)
        z_passage = (top_dense - m) / s
        vecs = self.index.sentence_vectors
        best_sentence, hub = float(hits[0].dense), -1.0
        if scored and vecs is not None and qvec is not None:
            ids = np.unique(np.fromiter((sid for _, sid, _ in scored), np.int64))
            cos = vecs[ids].astype(np.float32) @ qvec
            best_sentence = float(cos.max())
            hub = float((cos - self.reach(ids)).max()) / self.sentence_background()[1]
        sm, ss = self.sentence_background()
        z_sentence = (best_sentence - sm) / ss
        toks: set = set()
        for h in hits[:3]:
            toks.update(self.index.tokens_of(h.chunk))
        coverage, gap = self._coverage(q, toks)
        by_sid = {sid: h for _, sid, h in scored}
        answer_toks: set = set()
        for sid in chosen:
            answer_toks |= self.chooser.context_tokens(sid, by_sid[sid].chunk) if sid in by_sid else set()
        answer_coverage, _ = self._coverage(q, answer_toks)
        known = self._known(q)
        answer_text = "".join(self.index.sentences[sid].text for sid in chosen)
        # a rate asked (每个/每人 … 多少, 几个点) is a detail: a total does not answer it
        slot = "rate" if (q.per_unit or q.unit == "%") and q.slot == "figure" else q.slot or ("list" if q.wants_list else "")
        # 哪个县: the county the answer's report is about (阜宁县) answers it, and 哪个省 the province
        # around it (浙江 for 义乌's report); the answer names it first
        slot_found = bool(slot) and q.details_held(answer_text, about=self.chooser.divisions_about(q, *chosen))
        if slot_found and slot in DETAIL_SLOTS and not self._about_places_asked(q, chosen):
            slot_found = False  # 滨海骑手之家几点开门 answered with 徐州贾汪's 24小时: a detail of another place
        if slot_found and slot in DETAIL_SLOTS and earlier and not self._from_reports_of(q, chosen, earlier):
            slot_found = False  # 那晚上呢 开到几点 after 连云区's 药店 stations: 贾汪's 24小时 is another place's hours
        return Evidence(z_passage, z_sentence, hub, coverage, answer_coverage, gap, known, slot, slot_found, missing, z_topic,
                        max((q.rarest_held(self.index.sentences[sid].text) for sid in chosen), default=0.0), far,
                        bool(q.topic_words) and all(self.vocabulary.known(w) for w in q.topic_words))

    def _places_about(self, chosen) -> set[str]:
        """The divisions the ``chosen`` sentences are about: the innermost of those their article is about
        and those they name themselves (义乌市, not the 浙江省 its title names it by: a report on 义乌 says
        nothing of 杭州; 河池市 in 广西's 以河池市为例,该市…均配备工会专职副主席 says nothing of 南宁)."""
        out: set[str] = set()
        for sid in chosen:
            names = {*self.places_of(sid), *places_in(self.index.sentences[sid].text)}
            out.update(p for p in names if not any(encloses(p, other) for other in names if other != p))
        return out

    def _from_reports_of(self, q, chosen, earlier) -> bool:
        """The ``chosen`` sentences holding the asked detail (all of them when none does) belong to a
        report one of the ``earlier`` sentences belongs to."""
        sents = self.index.sentences
        reports = {(sents[sid].source, sents[sid].article) for sid in earlier}
        holding = [sid for sid in chosen if q.details_held(sents[sid].text)] or chosen
        return any((sents[sid].source, sents[sid].article) in reports for sid in holding)

    def _places_elsewhere(self, q, chosen) -> tuple[str, ...]:
        """The places the question names that the bulletins mention only in passing (no report is about
        them, nor about a division inside or around them) and that the ``chosen`` sentences are not
        about: they do not name it, and the places their reports are about are known and neither it nor
        inside or around it (深圳有司机之家吗 answered with 徐州贾汪's; 深圳 is in the bulletins only in an
        award's name).  A report whose place is not known says nothing either way."""
        text = "".join(self.index.sentences[sid].text for sid in chosen)
        asked = [a for a in names_in(q.text) if places_in(a) and a not in text]
        if asked:
            reported = self.reported_places()
            asked = [a for a in asked if not any(same_or_nested(a, p) for p in reported)]
        if not asked:
            return ()
        around = set()
        for sid in chosen:
            names = self.places_of(sid)
            around.update(p for p in names if not any(encloses(p, other) for other in names if other != p))
        if not around:
            return ()
        return tuple(a for a in asked if not any(same_or_nested(a, p) for p in around | self._places_about(chosen)))

    def _about_places_asked(self, q, chosen) -> bool:
        """The detail is given about the places the question names, if it names any: the sentences
        holding it name one, or are from an article about one, or about a division around or inside
        one (兴化's evening classes are not signed up for through 宝鸡's WeChat app, though the answer
        cites a 兴化 sentence too)."""
        asked = places_in(q.text)
        holding = [sid for sid in chosen if q.details_held(self.index.sentences[sid].text)] or chosen
        held_text = "".join(self.index.sentences[sid].text for sid in holding)
        if (not asked or self.places_of is None or any(a in held_text for a in asked)
                or places_in(held_text, besides=q.text) != places_in(held_text)):
            return True  # a place read literally counts too: places_in reads 和龙 out of 和龙川工匠, hiding 龙川
        return any(same_or_nested(a, p) for a in asked for p in self._places_about(holding))

    def _coverage(self, q, toks: set) -> tuple[float, float]:
        """(IDF-weighted share of the question's words in ``toks``, largest share of one absent word)."""
        total = sum(q.tokens.values())
        if not total:
            return 0.0, 0.0
        got, gap = 0.0, 0.0
        for t, w in q.tokens.items():
            if q.covers(t, toks) or any(f in toks for f in self.vocabulary.alternatives(t)):
                got += w
            else:
                gap = max(gap, w / total)
        return got / total, gap

    def _known(self, q) -> float:
        total = sum(q.tokens.values())
        if not total:
            return 0.0
        return sum(w for t, w in q.tokens.items()
                   if self.vocabulary.known(t) or any(self.vocabulary.known(x) for x in q.synonyms.get(t, ()))) / total
