"""Evidence: what a question's retrieval and chosen sentences show about whether the bulletins
answer it (``qa.answerability.Evidence``), read against one index — how far the best passage and
sentence stand above the background, the hub score against in-domain questions, the question's
words the passages share, whether the chosen sentences hold the asked detail about the place and
report asked, and the names and places no report is about.  ``qa.answerability.AnswerabilityModel``
decides from it.
"""

from __future__ import annotations

import threading

import numpy as np

from .answerability import DETAIL_SLOTS, HUB_K, Evidence
from .names import encloses, missing_names, names_in, places_in, same_or_nested


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
        named = names_in(q.text)  # jieba's tagging, read once for both checks below
        missing = tuple(missing_names(q.text, self.index.corpus_text(), named))
        if missing and chosen and self.places_of is not None:  # 我在芜湖打了12351: 安徽's hotline covers 芜湖
            around = self._places_about(chosen)
            missing = tuple(m for m in missing if not any(same_or_nested(m, p) for p in around))
        if not missing and chosen and not q.wants_cases and self.places_of is not None and self.reported_places is not None:
            missing = self._places_elsewhere(named, chosen)
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

    def _places_about(self, chosen, *, named: bool = True) -> set[str]:
        """The divisions the ``chosen`` sentences are about: the innermost of those their article is about
        and (``named``) those they name themselves (义乌市, not the 浙江省 its title names it by: a report on
        义乌 says nothing of 杭州; 河池市 in 广西's 以河池市为例,该市…均配备工会专职副主席 says nothing of 南宁)."""
        out: set[str] = set()
        for sid in chosen:
            names = {*self.places_of(sid), *(places_in(self.index.sentences[sid].text) if named else ())}
            out.update(p for p in names if not any(encloses(p, other) for other in names if other != p))
        return out

    def _from_reports_of(self, q, chosen, earlier) -> bool:
        """The ``chosen`` sentences holding the asked detail (all of them when none does) belong to a
        report one of the ``earlier`` sentences belongs to."""
        holding = [sid for sid in chosen if q.details_held(self.index.sentences[sid].text)] or chosen
        return any(self.chooser.same_report(sid, e) for sid in holding for e in earlier)

    def _places_elsewhere(self, named: list[str], chosen) -> tuple[str, ...]:
        """The places the question names that the bulletins mention only in passing (no report is about
        them, nor about a division inside or around them) and that the ``chosen`` sentences are not
        about: they do not name it, and the places their reports are about are known and neither it nor
        inside or around it (深圳有司机之家吗 answered with 徐州贾汪's; 深圳 is in the bulletins only in an
        award's name).  A report whose place is not known says nothing either way.  ``named``: the
        question's names (``qa.names.names_in``)."""
        text = "".join(self.index.sentences[sid].text for sid in chosen)
        asked = [a for a in named if places_in(a) and a not in text]
        if asked:
            reported = self.reported_places()
            asked = [a for a in asked if not any(same_or_nested(a, p) for p in reported)]
        if not asked:
            return ()
        around = self._places_about(chosen, named=False)
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
