"""Sentence choice: which sentences of the retrieved passages answer a question, best first.

score = cosine(question, sentence) + own_coverage·coverage(sentence) + new_coverage·(coverage of the
question words its article's title and opening do not already hold: what the sentence adds to the
subject, so that 华光员工能不能持股 picks the 全员持股 sentence, not the opening that names 华光) +
context_coverage·coverage(the sentence in context: the two sentences before it, the article title
and the article's opening sentences, because bulletins name the subject once and give the figure
later) + the slot bonus
(``Question.slot_bonus``) + a little for the passage's rank − penalties for scraps, bare headings (a
question the bulletin asks counts as one) and sentences about what the question excludes (除了 X).
Weights: ``qa/data/scoring.json``.

``SentenceChooser.choose`` turns the ranking into the one to three sentences of a short answer.
"""

from __future__ import annotations

import re

import numpy as np

from .articles import ends_sentence, is_credit
from .details import RE_DIGIT_FIGURE, RE_FIGURE, SYNONYMS, holds
from .question import OUTCOME_WORDS, Question
from .said import Said
from .wordlists import table

# a sentence telling one anonymous case (县某餐饮公司…, 该市某装饰材料公司…): an example of what the text says before it
_RE_EXAMPLE = re.compile(r"^[^,，。]{0,6}某")
# a sentence whose subject is only 该平台 / 该公司 / 该农场 (this platform …), opening it or its clause after a
# time (今年以来,该公司…; not 医生来到该公司, an object)
_RE_THIS = re.compile(r"^(?:[^,，。]{0,12}[,，])?该([\u4e00-\u9fff]{2,4})")
# a sentence that only says who spoke the quote before it (…一名职工说。 李新伟说。 …负责人周蔚华在宣讲会后这样说。)
_RE_SPEAKER = re.compile(r"^[^“”。]{0,40}(?:说|介绍|表示|坦言|感慨|告诉记者)[。!！]?$")
W = table("scoring")


def asks(text: str) -> bool:
    """A question in a bulletin (a sub-heading such as 在何处建设“司机之家”?, or a rhetorical one): it
    answers nothing, so it is scored like a bare heading."""
    return text.rstrip().rstrip("”’」』\"'").endswith(("?", "？"))


class Words(frozenset):
    """A text's words, which also hold any longer word that occurs in the text uncut: jieba cuts
    主任杨正群 as 主任杨 / 正群, so the question's 杨正群 is no token of that sentence, yet it is in it."""

    def __new__(cls, tokens=(), text: str = ""):
        words = super().__new__(cls, tokens)
        words.text = text
        return words

    def __contains__(self, token) -> bool:
        return frozenset.__contains__(self, token) or (isinstance(token, str) and len(token) >= 2 and token in self.text)

    def __or__(self, other) -> "Words":
        return Words(frozenset.__or__(self, other), self.text + "\n" + getattr(other, "text", ""))


class SentenceChooser:
    def __init__(self, index, places_of=None):
        """``places_of(sentence id)``: the divisions the sentence's article is about (a which-division
        question, 哪个县, is answered by any sentence of a report on a county)."""
        self.index = index
        self.places_of = places_of
        self._by_chunk = index.sentence_ids_by_chunk()
        self._subject: dict[tuple, set] = {}

    def tokens(self, sid: int) -> Words:
        return Words(self.index.sentence_tokens(sid), self.index.sentences[sid].text)

    def same_report(self, i: int, j: int) -> bool:
        """Sentences ``i`` and ``j`` belong to the same article."""
        a, b = self.index.sentences[i], self.index.sentences[j]
        return a.source == b.source and a.article == b.article

    def divisions_about(self, q: Question, *sids: int) -> tuple[str, ...]:
        """For a which-division question (哪个县), the divisions the articles of sentences ``sids`` are
        about, each of which may answer it (阜宁县, or 江苏省 around it); () for any other question."""
        if not q.asks_division or self.places_of is None:
            return ()
        return tuple(dict.fromkeys(p for sid in sids for p in self.places_of(sid)))

    def scored(self, q: Question, hits, qvec, said: Said | None = None) -> list[tuple[float, int, object]]:
        """(score, sentence id, hit) for the sentences of ``hits``, best first.  ``said``: what the
        earlier answers cited; a follow-up is not answered again with it (``already_said``) when it
        does not hold what the follow-up asks."""
        sents, vecs = self.index.sentences, self.index.sentence_vectors
        seen: set[int] = set()
        out = []
        top = max(1e-6, hits[0].score) if hits else 1.0
        for h in hits:
            subject = self.subject_tokens(h.chunk)
            for sid in self._by_chunk.get(h.chunk.id, ()):
                if sid in seen:
                    continue
                seen.add(sid)
                text = sents[sid].text
                dense = float(vecs[sid].astype(np.float32) @ qvec) if vecs is not None and qvec is not None else 0.0
                own = self.tokens(sid)
                score = (dense + W["own_coverage"] * q.coverage(own)
                         + W["new_coverage"] * q.coverage(own, beyond=subject)
                         + W["context_coverage"] * self.context_coverage(q, sid, h.chunk)
                         + q.slot_bonus(text, self.divisions_about(q, sid)) + W["passage_rank"] * h.score / top
                         - (W["short_sentence"] if len(text) < 8 else 0.0)
                         - (W["bare_heading"] if (not ends_sentence(text) and len(text) < 30) or asks(text) else 0.0)
                         - (W["excluded"] if q.excluded and q.is_excluded(own) else 0.0))
                out.append((score, sid, h))
        if said is not None:
            stale = said.stale([(sents[sid].text, self.tokens(sid)) for _, sid, _ in out])
            out = [(score - (W["already_said"] if old else 0.0), sid, h) for (score, sid, h), old in zip(out, stale)]
        out.sort(key=lambda x: -x[0])
        return out

    def context_coverage(self, q: Question, sid: int, chunk) -> float:
        """Coverage of the question by a sentence in its context (``context_tokens``)."""
        return q.coverage(self.context_tokens(sid, chunk))

    def subject_tokens(self, chunk) -> set[str]:
        """Words of the article's title and opening sentences: its subject, which every one of its
        sentences shares through ``context_tokens`` (computed once per article)."""
        from .tokens import tokenize

        key = (chunk.context, chunk.source, chunk.article)
        if key not in self._subject:
            lead = self.index.lead_sentence_ids(chunk.source, chunk.article)
            self._subject[key] = Words(set(tokenize(chunk.context)) | {t for i in lead for t in self.index.sentence_tokens(i)},
                                       "\n".join([chunk.context, *(self.index.sentences[i].text for i in lead)]))
        return self._subject[key]

    def context_tokens(self, sid: int, chunk) -> Words:
        """Words of a sentence in its context: itself, the two sentences before it, the article's
        title and its opening sentences (their text joined in ``.text``)."""
        toks = self.tokens(sid) | self.subject_tokens(chunk)
        for j in (sid - 1, sid - 2):
            if j >= 0 and self.same_report(j, sid):
                toks |= self.tokens(j)
        return toks

    def may_join(self, q: Question, sid: int, hit, best: int, best_hit) -> bool:
        """Sentence ``sid`` may be added to an answer whose best sentence is ``best``: it is in the same
        report, or its report is as much about what the question names (its context coverage within
        ``other_report_margin`` of the best's, and not nil: a report that holds none of the question's
        words is about something else even when the best one holds none either)."""
        if self.same_report(sid, best):
            return True
        other = self.context_coverage(q, sid, hit.chunk)
        return other > 0 and other >= self.context_coverage(q, best, best_hit.chunk) - W["other_report_margin"]

    def names_kept(self, q: Question, sid: int, hit, best: int, best_hit) -> bool:
        """Sentence ``sid`` of another report is about the same named thing as the best one: its
        context holds every question word that the best one's context holds as a name — a place
        (义乌) or a quoted name (“金地瓜”).  A phone number, price or time taken from a report on
        something else would answer for a thing it is not about (12351 given as 金地瓜's number)."""
        if self.same_report(sid, best):
            return True
        from .names import places_in

        mine = self.context_tokens(best, best_hit.chunk).text
        theirs = self.context_tokens(sid, hit.chunk)
        for t in q.tokens:
            if t in mine and (places_in(t) or re.search(rf"[“「『《][^”」』》]{{0,12}}{re.escape(t)}", mine)) \
                    and not q.covers(t, theirs):
                return False
        return True

    def outcome_sentence(self, q: Question, best: int) -> int | None:
        """For 最后/最终 questions whose best sentence gives the first figure: a sentence shortly after
        it in the same report that states the outcome (最终仅裁员11人), else None."""
        sents = self.index.sentences
        forms = (q.outcome, *SYNONYMS.get(q.outcome, ()))
        if any(f in sents[best].text for f in forms):
            return None
        for j in range(best + 1, min(best + 4, len(sents))):
            if not self.same_report(j, best):
                break
            if any(w in sents[j].text for w in OUTCOME_WORDS) and (not q.slot or q.has_slot(sents[j].text)):
                return j
        return None

    def clause_scorer(self, q: Question):
        from .tokens import tokenize

        # a case line keeps the case's figures, and so does a 咋办 answer (a case told to its end: 最终仅裁员11人)
        figure = W["clause_figure"] if q.wants_cases or q.follows_case else 0.0

        def score(clause: str) -> float:
            return (q.coverage(set(tokenize(clause))) + 3 * q.slot_bonus(clause) - 0.002 * len(clause)
                    + (figure if RE_DIGIT_FIGURE.search(clause) else 0.0))

        return score

    def choose(self, q: Question, scored, said: Said | None = None) -> list[int]:
        """The sentences of a short answer: the best, plus the one that completes it (the sentence
        before when it names the subject, the sentence after when the best only names it, the outcome
        for 最后/最终, the sentence holding the asked slot, or a runner-up as much about the question).
        The best leads: the others follow in text order, and only the sentence just before it is read
        first (so [1] and the first passage shown are the ones that answer, not an article's lead that
        a runner-up brought in) — or, when the best lacks the asked detail and another report's sentence
        holds it, that sentence (12351 for 打啥电话, before 义乌's case of unpaid wages).  ``said``: what
        the conversation's earlier answers cited, which does not join again as the sentence before or
        after (晚上能在那睡觉不 repeated the facilities sentence of the answer it followed)."""
        if not scored:
            return []
        sents = self.index.sentences
        best_score, best, best_hit = scored[0]
        chosen = [best]
        told = self.case_told(best) if q.follows_case and not q.asks_detail else []
        if told:  # 辞职了不给工资咋办: the case, in the order it is told
            return sorted(chosen + told)
        prev = best - 1
        outcome = self.outcome_sentence(q, best) if q.outcome else None
        if outcome is not None:
            chosen.append(outcome)
        elif (self._beside(prev, best) and not self._was_said(said, prev)
              and (self._adds(q, best, prev) or (_RE_EXAMPLE.match(sents[best].text) and RE_FIGURE.search(sents[prev].text)))):
            # the sentence before carries the subject the best one leaves out, or the total an example
            # (县某餐饮公司…3.6万元) is one case of (补发…加班工资143万多元)
            chosen.insert(0, prev)
        elif q.asks_detail and not self.holds_detail(q, best):
            # the best sentence names the subject but not the asked thing: add the sentence that has
            # it — nearby in the same article first, else the best candidate that has it
            near = self._nearby_detail(q, scored, best, chosen)
            other = [(sc, sid) for sc, sid, h in scored[1:12]
                     if self.holds_detail(q, sid) and sc >= best_score - W["slot_sentence_margin"]
                     and self.may_join(q, sid, h, best, best_hit) and self.names_kept(q, sid, h, best, best_hit)]
            if near is not None:
                chosen.append(near)
            elif other:
                # from another report: the sentence that holds the asked thing answers, so it leads
                lead = max(other)[1]
                return [lead, best]
        elif self._beside(best + 1, best) and not self._was_said(said, best + 1) and self._adds(q, best, best + 1):
            # the sentence after gives what the best one, naming only the subject, leaves out (an asked detail
            # is looked for first, above)
            chosen.append(best + 1)
        elif len(scored) > 1:
            sc2, sid2, hit2 = scored[1]
            if (sc2 >= best_score - W["second_sentence_margin"] and len(sents[sid2].text) + len(sents[best].text) <= 150
                    and self.may_join(q, sid2, hit2, best, best_hit) and not self._strays(q, best, sid2)):
                chosen.append(sid2)
        if q.asks_detail and len(chosen) < 3 and not any(self.holds_detail(q, sid) for sid in chosen):
            # the sentence before joined for the subject, and neither holds the asked detail: the nearby
            # sentence of the same report that does (晚上能去吗 after 司机之家在哪: 夜宿休息室 and the rest
            # rooms before it, then 24小时提供…服务)
            near = self._nearby_detail(q, scored, best, chosen)
            if near is not None:
                chosen.append(near)
        for part in q.parts:  # 有多少名党员,成立了几支先锋队: a sentence for each figure asked
            if len(chosen) < 3 and not any(self.answers_part(q, part, sid) for sid in chosen):
                extra = [sid for _, sid, h in scored[1:12] if sid not in chosen and self.answers_part(q, part, sid)
                         and (self.same_report(sid, best) or self.may_join(q, sid, h, best, best_hit))]
                if extra:
                    chosen.append(extra[0])
        for slot in q.also:  # 要钱不 咋报名啊: the sentence that tells how to sign up as well as the price
            if len(chosen) < 3 and not any(holds(slot, sents[sid].text) for sid in chosen):
                extra = [sid for _, sid, h in scored[1:12] if sid not in chosen and self.gives(slot, sid)
                         and (self.same_report(sid, best) or self.may_join(q, sid, h, best, best_hit)
                              and self.names_kept(q, sid, h, best, best_hit))]
                given = self.tokens(chosen[0]).union(*(self.tokens(c) for c in chosen[1:]))
                # the same report's first, then one holding a word of the question the answer lacks (报名)
                extra.sort(key=lambda sid: (not self.same_report(sid, best),
                                            not any(q.covers(t, self.tokens(sid)) and not q.covers(t, given) for t in q.tokens)))
                if extra:
                    chosen.append(extra[0])
        if not q.asks_detail and not q.wants_cases and len(chosen) < 2:
            # 家里困难 公司工会能给救济不: the way of helping (一人一档, 爱心基金) and, from the same report,
            # how many it has helped (先后有300名困难职工得到救助), as a case line adds its figure
            figure = self.figure_sentence(scored, best, best_score, chosen)
            if figure is not None:
                chosen.append(figure)
        for sid in list(chosen):  # 该平台依托“浙里办”APP…: the sentence before names the platform (“金地瓜”)
            # …一名职工说。: the quote before it says what (not when the speaker is what is asked: 张友良是谁)
            if len(chosen) < 3 and sid - 1 not in chosen and (
                    self.refers_back(sid) or self.names_the_speaker(sid) and not (q.asks_detail and self.holds_detail(q, sid))):
                chosen.append(sid - 1)
        chosen.sort()  # reading order (a report's rest printed on an earlier page comes after it)
        if len(chosen) > 1 and self._tells_a_case(chosen):
            before, after = self.paragraph_around(best)
            if set(chosen) <= {*before, best, *after}:
                return chosen  # a case told in one paragraph (someone unnamed: 某装饰材料公司): what happened, then what was done
        head = [best]
        while head[0] - 1 in chosen:  # the sentences just before the best one lead it (a quote, then who said it)
            head.insert(0, head[0] - 1)
        return head + [sid for sid in chosen if sid not in head]

    def refers_back(self, sid: int) -> bool:
        """Sentence ``sid`` names its subject only as 该X (该平台, 该公司) and the sentence before, in the same
        paragraph, names that X (全力推进“金地瓜”维权服务平台建设。该平台依托…): quoted alone, a worker reads of
        "this platform" without its name."""
        m = _RE_THIS.match(self.index.sentences[sid].text)
        before, _ = self.paragraph_around(sid) if m else ([], [])
        if not before:
            return False
        prev = self.index.sentences[before[-1]].text
        noun = m.group(1)
        return any(noun[:n] in prev for n in range(len(noun), 1, -1))

    def names_the_speaker(self, sid: int) -> bool:
        """Sentence ``sid`` only says who spoke (…一名职工说。 李新伟说。) and the sentence before, in the same
        paragraph, is the quote: quoted alone, a worker reads who spoke and not what was said."""
        if not _RE_SPEAKER.match(self.index.sentences[sid].text):
            return False
        before, _ = self.paragraph_around(sid)
        return bool(before) and self.index.sentences[before[-1]].text.rstrip().endswith(("”", "」"))

    def figure_sentence(self, scored, best: int, best_score: float, chosen: list[int]) -> int | None:
        """When no ``chosen`` sentence gives a figure in digits: the best-scored sentence of ``best``'s
        report that does, within ``answer_figure_margin`` of the best score; None otherwise."""
        sents = self.index.sentences
        if any(RE_DIGIT_FIGURE.search(sents[sid].text) for sid in chosen):
            return None
        figures = [(sc, sid) for sc, sid, _ in scored[1:12] if sid not in chosen and self.same_report(sid, best)
                   and sc >= best_score - W["answer_figure_margin"] and RE_DIGIT_FIGURE.search(sents[sid].text)]
        return max(figures)[1] if figures else None

    def _was_said(self, said: Said | None, sid: int) -> bool:
        """An earlier answer cited sentence ``sid`` and it holds nothing the follow-up asks
        (``Said.says_nothing_new``: 总共补了多少 may have the total said before)."""
        return said is not None and said.says_nothing_new(self.index.sentences[sid].text, self.tokens(sid))

    def gives(self, slot: str, sid: int) -> bool:
        """Sentence ``sid`` holds a detail of the form ``slot`` asks for and does not ask it itself (the
        sub-heading 在何处建设“司机之家”? names no place)."""
        text = self.index.sentences[sid].text
        return holds(slot, text) and not asks(text)

    def _strays(self, q: Question, best: int, sid: int) -> bool:
        """Runner-up ``sid`` would take an answer that gives the asked detail off to another report that
        lacks it (被欠薪了打哪个电话: 12351, then 义乌's 于当日发放了拖欠何某军的工资)."""
        return (q.asks_detail and not self.same_report(sid, best) and self.holds_detail(q, best)
                and not self.holds_detail(q, sid))

    def case_told(self, best: int) -> list[int]:
        """For a 咋办 question answered by ``best``, one sentence of a case (someone the bulletin does not
        name: 某装饰材料公司, 赵某) told in one paragraph: the paragraph's rest after it (what was done,
        how it ended: 赵某拒不执行 / 县法院将10万元强制执行到位),
        or, when ``best`` ends the paragraph, the sentence just before it (服务中心工作人员立即…讲解了有关法律规定
        before 于当日发放了拖欠何某军的工资), unless that is a sub-heading (建立“部门联动协作”体系。); [] when
        the rest is longer than a case's end (``remedy_rest_sentences``, ``remedy_rest_chars``): a list
        of other work."""
        sents = self.index.sentences
        before, after = self.paragraph_around(best)
        told = after or [sid for sid in before[-1:] if len(sents[sid].text.strip()) >= W["remedy_min_chars"]]
        if len(told) > W["remedy_rest_sentences"] or sum(len(sents[sid].text) for sid in told) > W["remedy_rest_chars"]:
            return []
        return told if self._tells_a_case([best, *told]) else []

    def _tells_a_case(self, sids) -> bool:
        """Sentences ``sids`` tell a case as the bulletins tell one: about someone they do not name
        (该市某装饰材料公司, 赵某)."""
        return any("某" in self.index.sentences[sid].text for sid in sids)

    def paragraph_around(self, sid: int) -> tuple[list[int], list[int]]:
        """The sentences before and after ``sid`` in its paragraph: the same article, no line break in
        the source text between one and the next, and no photo credit or byline (本报通讯员 沈岳 摄)."""
        sents = self.index.sentences
        text = self.index.texts.get(sents[sid].source, "")

        def joined(i: int, j: int) -> bool:  # sentence i and the next one, j, are in one paragraph
            return (0 <= i and j < len(sents) and self.same_report(i, sid) and self.same_report(j, sid)
                    and not is_credit(sents[j].text.strip()) and not is_credit(sents[i].text.strip())
                    and "\n" not in text[sents[i].end:sents[j].start])

        first = last = sid
        while joined(first - 1, first):
            first -= 1
        while joined(last, last + 1):
            last += 1
        return list(range(first, sid)), list(range(sid + 1, last + 1))

    def _nearby_detail(self, q: Question, scored, best: int, chosen: list[int]) -> int | None:
        """The best-scored sentence of ``best``'s report, at most 3 sentences from it and not yet
        ``chosen``, that holds the detail ``q`` asks; None when there is none."""
        near = [(sc, sid) for sc, sid, _ in scored[1:] if sid not in chosen and self.same_report(sid, best)
                and 0 < abs(sid - best) <= 3 and self.holds_detail(q, sid)]
        return max(near)[1] if near else None

    def holds_detail(self, q: Question, sid: int) -> bool:
        """Sentence ``sid`` gives the detail ``q`` asks — and does not ask it itself (the sub-heading
        在何处建设“司机之家”? names a place to build, it tells none); for 哪个县, any sentence of a report
        on a county does."""
        text = self.index.sentences[sid].text
        return q.details_held(text, self.divisions_about(q, sid)) and not asks(text)

    def _beside(self, sid: int, best: int) -> bool:
        """Sentence ``sid`` (the one just before or after ``best``) is in the same report, and the two
        together are short enough to answer (``prev_sentence_chars``)."""
        sents = self.index.sentences
        return (0 <= sid < len(sents) and self.same_report(sid, best)
                and len(sents[sid].text) + len(sents[best].text) <= W["prev_sentence_chars"])

    def _adds(self, q: Question, best: int, sid: int) -> bool:
        """Sentence ``sid`` covers ``prev_sentence_gain`` more of the question alongside ``best``."""
        return q.coverage(self.tokens(sid) | self.tokens(best)) > q.coverage(self.tokens(best)) + W["prev_sentence_gain"]

    def answers_part(self, q: Question, part, sid: int) -> bool:
        """Sentence ``sid`` gives the figure one clause of the question asks (``Question.parts``): a
        figure in its unit, next to one of its own words."""
        words, unit = part
        toks = self.tokens(sid)
        return (not words or any(q.covers(w, toks) for w in words)) and holds("figure", self.index.sentences[sid].text, unit=unit)
