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
安徽's 12351 hotline).  The evidence itself is read by ``qa.evidence.EvidenceReader``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
