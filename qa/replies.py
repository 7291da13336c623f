"""Replies: the text of the three kinds of answer, made from what reading a question found.

``Replies(index, chooser, case_finder)`` writes

- ``short``: the chosen sentences, each trimmed to whole clauses and cited ([1], [2]), after the
  place or union they are about when neither they nor the question name it;
- ``cases``: one line per matching article for union staff (place, title, cited sentence);
- ``refusal``: a plain "not in the bulletins" that says what is missing when that is known (a name
  no bulletin mentions, the asked detail), cites the nearest sentence the bulletins do have and
  suggests nearby topics to ask about next (``Answer.topics``; the page shows them as buttons).

Every citation is made by ``qa.citations.cite``, which verifies it against the source text.
"""

from __future__ import annotations

import functools
import re
from typing import Sequence

from .articles import ends_sentence, is_credit, is_untitled
from .cases import place_names, says_place
from .citations import cite
from .names import places_in, signs_as
from .details import RE_DIGIT_FIGURE, holds, phone_numbers
from .question import Question
from .records import TOPICS_LEAD, Answer, Case, Citation
from .wordlists import table

REFUSAL_TEXT = "抱歉，公报里没有找到能回答这个问题的内容。"
PHONE_LEAD = "电话："  # an answer to 打啥电话 opens with the number its cited sentences give
# a sentence telling one particular case: a company or person the bulletin leaves unnamed (县某服装公司, 何某军,
# not 某爱心驿站, one of fifty), or a company it refers back to inside a clause (促进该公司重新修改改制方案; not a
# company's own report going on: 据介绍,该公司工会…)
_RE_ONE_CASE = re.compile(r"某[\u4e00-\u9fff]{0,8}?(?:公司|企业|厂|工地|饭店|酒店|餐馆)|[赵钱孙李周吴郑王冯陈何张刘杨黄]某"
                          r"|[^,，。;；:：]该(?:公司|企业)")
CASE_LEAD = "的一个案例"  # 滨海县总工会的一个案例：… — one report's case, not a rule for everyone
MISSING_DETAIL = table("refusal_details")  # slot → what the bulletins were found to lack
NEAREST_FORM = table("nearest_forms")  # slot → the weaker form a refusal cites instead, and its lead
_CHARS = table("scoring")  # the longest span cut from one sentence (answer_chars_*)


class Replies:
    """Answer texts over one index (``chooser``: ``qa.sentences.SentenceChooser``; ``case_finder``:
    ``qa.cases.CaseFinder``)."""

    def __init__(self, index, chooser, case_finder):
        self.index = index
        self.chooser = chooser
        self.case_finder = case_finder

    def cite_all(self, sids: Sequence[int], q: Question, limit: int) -> tuple[list[str], list[Citation]]:
        """The sentences ``sids`` trimmed to at most ``limit`` characters of whole clauses (keeping
        the asked detail), each followed by its [n]; with their citations."""
        parts, cits = [], []
        for sid in sids:
            got = cite(self.index, sid, len(cits) + 1, self.chooser.clause_scorer(q), limit=limit,
                       must_have=self._kept(q, self.index.sentences[sid].text, "".join(parts)))
            if got is not None:
                part, c = got
                parts.append(f"{part}[{c.n}]")
                cits.append(c)
        return parts, cits

    @staticmethod
    def _kept(q: Question, text: str, given: str):
        """What a cut of sentence ``text`` must keep: the asked detail, unless the sentences before it
        (``given``) gave it and this one gives what another clause asks (找工会打啥电话？半夜打有人接不:
        the second sentence is there for its 7×24小时, not for the 12351 it repeats)."""
        if q.slot and not (given and q.has_slot(given)) and q.has_slot(text):
            return q.has_slot
        for slot in q.also:
            if holds(slot, text) and not holds(slot, given):
                return lambda t, slot=slot: holds(slot, t)
        return q.has_slot if q.slot else None

    def short(self, question: str, standalone: str, hits, scored, chosen, q: Question, *, whole: bool = False) -> Answer:
        """A short cited answer from the ``chosen`` sentences (a refusal when none can be cited);
        ``whole``: each sentence as long as one answering alone."""
        # a 咋办 answer keeps each sentence as whole as one answering alone: in a case told to its end,
        # what the union did is often the clause a shorter cut drops (张祥申请县总工会发出《建议书》)
        alone = whole or len(chosen) == 1 or q.follows_case
        limit = _CHARS["answer_chars_one"] if alone else _CHARS["answer_chars_each"]
        parts, cits = self.cite_all(chosen, q, limit)
        if not cits:
            return self.refusal(question, standalone, hits, scored, q)
        text = "".join(parts)
        place = self.place_unsaid(cits, standalone + text)
        # 被裁了能赔多少 → 最终仅裁员11人,给予人均1.8万元经济补偿: one company's case, said to be one (a helper read the
        # figure as what every laid-off worker gets)
        places = {self.case_finder.origin(c.source, c.start).place for c in cits}
        one_case = bool(_RE_ONE_CASE.search(parts[0])) and len(places) == 1
        if place or one_case:
            text = f"{place or '公报里'}{CASE_LEAD if one_case else ''}：{text}"
        elif len(places) > 1:
            text = "".join(self.with_places(parts, cits, standalone))
        numbers = phone_numbers("".join(parts)) if "phone" in (q.slot, *q.also) else []
        if numbers:  # 老板欠工资打啥电话: the number first, not inside a sentence about the line's launch
            text = f"{PHONE_LEAD}{'、'.join(numbers)}\n{text}"
        return Answer(question, text, tuple(cits), tuple(hits), standalone_question=standalone)

    @functools.cached_property
    def _titles(self) -> dict[str, tuple[str, int]]:
        """Printed title (spaces dropped) → (source, article), for the titles ``nearby_topics`` offers."""
        out: dict[str, tuple[str, int]] = {}
        for key in self.index.articles():
            title = self.index.article_title(*key)
            flat = re.sub(r"\s+", "", title)
            if len(flat) >= 6 and not is_untitled(title):
                out.setdefault(flat, key)
        return out

    def titled(self, question: str) -> tuple[str, int] | None:
        """(source, article) of the article whose title the question is, as printed (a related topic
        tapped on the page sends its title); None for any other question."""
        return self._titles.get(re.sub(r"\s+", "", question))

    def about_article(self, question: str, hits, q: Question, key: tuple[str, int], near=None, said=None) -> Answer:
        """An article asked for by its title: what it reports first (its first two sentences that are
        sentences, not a heading or a photo credit), cited, with the place it is about — not the one
        sentence that happens to share most of the title's words (产改赋能,让产业工人成才成匠 had been
        answered with 436人岗位资格认定).  Tapped after a question (``near``: that question's vector), it
        is what the article says nearest to that question instead, less what the conversation already
        cited (``said``: a ``qa.said.Said``): a topic offered under the refusal of 下班路上被车撞了算工伤不
        had answered with its article's opening praise, not the injury case it was offered for."""
        def whole(sid: int, min_chars: int = 15) -> bool:  # a sentence, not a heading (15) or a photo credit
            text = self.index.sentences[sid].text
            return ends_sentence(text) and len(text) >= min_chars and not is_credit(text)

        def unsaid(sid: int) -> bool:
            return said is None or not said.said(self.index.sentences[sid].text)

        ids = []
        vecs = self.index.sentence_vectors
        every = [sid for sid in self.index.sentence_ids_by_article().get(key, []) if whole(sid)] if near is not None else []
        if every and vecs is not None:
            cos = vecs[every].astype("float32") @ near.astype("float32")
            nearest = [every[i] for i in cos.argsort()[::-1]]
            # the nearest sentence and the rest of its paragraph (the case it begins, told to its end; a short
            # sentence of it counts), less what was said; else the nearest sentences not said yet
            story = [nearest[0], *self.chooser.paragraph_around(nearest[0])[1]]
            ids = [sid for sid in story if whole(sid, 0) and unsaid(sid)][:2] or [sid for sid in nearest if unsaid(sid)][:2]
            ids.sort()
        if not ids:
            ids = [sid for sid in self.index.lead_sentence_ids(*key, n=6) if whole(sid)][:2]
        return self.short(question, question, hits, [], ids, q, whole=True)

    def signed(self, question: str, standalone: str, hits, q: Question) -> Answer | None:
        """A question about a person that only a byline answers, cited where it is printed with the
        article it signs: who someone is (``Question.who``: 万月是干啥的 → 滨海县总工会副主席 万月), or
        who holds a role in a place the question names (江都区总工会主席是谁 → …党组书记、主席 邱永泉;
        a 副主席 is no 主席).  None when no byline answers it."""
        if not (q.who or (q.slot == "person" and q.focus)):
            return None
        places = () if q.who else places_in(standalone)
        lines, cits = [], []
        for source, article, start, end in self.index.bylines():
            text = self.index.texts[source][start:end]
            if q.who:
                signs = q.who in text
            else:  # the role in the union the question names: each of its words in the byline (琼港农场工会主席 is not 江都's)
                signs = (signs_as(q.focus, text) or q.has_slot(text)) and all(says_place(text, p) for p in places) \
                    and all(t in text for t in q.tokens if len(t) >= 2)
            if not signs:
                continue
            n = len(cits) + 1
            title = self.index.article_title(source, article)
            cits.append(Citation(n, source, title, start, end, text, page=self.index.page_of(source, start)))
            lines.append(f"《{title}》一文署名：{text}[{n}]")
            if len(cits) == 3:
                break
        if not cits:
            return None
        return Answer(question, "\n".join(lines), tuple(cits), tuple(hits), standalone_question=standalone)

    def places_about(self, sid: int) -> tuple[str, ...]:
        """The divisions the article of sentence ``sid`` is about (安徽省; 徐州市, 贾汪区)."""
        s = self.index.sentences[sid]
        return place_names(self.case_finder.origin(s.source, s.start).place)

    def place_unsaid(self, citations: Sequence[Citation], said: str) -> str:
        """The place or union the cited sentences' article is about (徐州市贾汪区总工会), when they all
        come from one such place and neither they nor the question name it; else "".  A worker asking
        where to shower on the road needs 徐州贾汪 in the answer, not only in the grey source line."""
        places = {self.case_finder.origin(c.source, c.start).place for c in citations}
        if len(places) != 1:
            return ""
        place = places.pop()
        return place if place and not says_place(said, place) else ""

    def with_places(self, parts: Sequence[str], citations: Sequence[Citation], said: str) -> list[str]:
        """An answer's cited ``parts`` from reports on several places, each led by the place its report
        is about when that differs from the part before and neither it nor the question (``said``)
        names it: 那电话多少 after a wage question got 安徽's 12351 line beside 义乌's visits, with
        nothing saying the line is 安徽's."""
        out, before = [], None
        for part, c in zip(parts, citations):
            place = self.case_finder.origin(c.source, c.start).place
            if place != before and place and not says_place(said + part, place):
                part = f"{place}：{part}"
            out.append(part)
            before = place
        return out

    def find_cases(self, standalone: str, k: int, retrieval, q: Question) -> list:
        """The articles a case list would give (``qa.cases.CaseFinder.find``, at least 6)."""
        return self.case_finder.find(standalone, k=max(k, 6), retrieval=retrieval, analysed=q)

    @staticmethod
    def _room(found, r) -> int:
        """How many of its figure sentences a case line adds: a short list gives each case's figures
        too (a staff member asking for a case wants what it achieved: 补发加班工资143万多元); each line of
        a longer list gets one (建了76个, 追回53万元), even when its sentence gives a figure of its own (a
        staff member asking for 培训班 with figures got 兴化's course list and no 1360人次)."""
        more = _CHARS["case_more_sentences"] // len(found)
        return more or _CHARS["case_line_figure"]

    @classmethod
    def case_sentences(cls, found) -> list[int]:
        """The sentence ids a case list of ``found`` quotes or may add to its lines: what it can say."""
        return [sid for r in found for sid in (r.sentence_id, *r.more[:cls._room(found, r)]) if sid >= 0]

    def cases(self, question: str, standalone: str, k: int, retrieval, q: Question, hits, scored,
              found=None) -> Answer:
        """A case list: one line per matching article (a refusal when none matches); ``found``: the
        articles when ``find_cases`` already gave them."""
        found = self.find_cases(standalone, k, retrieval, q) if found is None else found
        if not found:
            return self.refusal(question, standalone, hits, scored, q)
        lines, cits, cases = [], [], []
        for i, r in enumerate(found, 1):
            room = self._room(found, r)
            n = len(cits) + 1
            cits.append(Citation(n, r.source, r.title, r.start, r.end, r.cited, page=self.index.page_of(r.source, r.start)))
            cases.append(Case(r.title, r.place, r.sentence, n, r.source, r.column))
            extra, extra_cits = [], []
            for sid in r.more:
                if len(extra) == room:
                    break
                got = cite(self.index, sid, len(cits) + len(extra_cits) + 1, self.chooser.clause_scorer(q),
                           limit=_CHARS["answer_chars_each"], must_have=RE_DIGIT_FIGURE.search)  # its figure kept
                if got is not None and not any(c.source == got[1].source and c.start < got[1].end and got[1].start < c.end
                                               for c in cits + extra_cits):  # a span already cited
                    extra.append(f"{got[0]}[{got[1].n}]")
                    extra_cits.append(got[1])
            cits.extend(extra_cits)
            lines.append(f"{i}. {r.place + '：' if r.place else ''}《{r.title}》——{r.sentence}[{n}]" + "".join(extra))
        text = f"找到 {len(cases)} 篇相关报道：\n" + "\n".join(lines)
        return Answer(question, text, tuple(cits), tuple(hits), kind="cases", cases=tuple(cases),
                      standalone_question=standalone)

    def refusal(self, question: str, standalone: str, hits, scored, q: Question, missing: Sequence[str] = (),
                detail: str = "") -> Answer:
        """A plain refusal that still helps: what is missing when that is known (a name no bulletin
        mentions, or the asked detail — a price, a phone number — absent from the nearest sentences),
        the nearest sentence the bulletins do have (cited, with the place it is about when unsaid)
        and nearby topics to ask about next."""
        if missing and all(m in self.index.corpus_text() for m in missing):
            # a place the bulletins name elsewhere (深圳 in an award's name), not what is asked about it
            head = f"抱歉，公报里没有关于“{'”“'.join(missing)}”的这方面内容。"
        elif missing:
            head = f"抱歉，公报里没有提到“{'”“'.join(missing)}”，无法回答。"
        elif detail in MISSING_DETAIL:
            head = f"抱歉，公报里没有找到{MISSING_DETAIL[detail]}。"
        else:
            head = REFUSAL_TEXT
        nearest, lead = self.nearest(scored, detail)
        parts, cits = self.cite_all(nearest, q, _CHARS["answer_chars_refusal"])
        # where the nearest sentence is from, when neither it nor the question says (宝鸡's sign-up
        # app is not taken for 兴化's)
        place = self.place_unsaid(cits, standalone + "".join(parts)) if parts else ""
        text = head + (f"\n{lead}{f'（{place}）' if place else ''}：{''.join(parts)}" if parts else "")
        topics = tuple(self.nearby_topics(hits))
        if topics:
            text += TOPICS_LEAD + "；".join(topics)
        return Answer(question, text, tuple(cits), tuple(hits), refused=True, kind="refusal",
                      standalone_question=standalone, topics=topics)

    def nearest(self, scored, detail: str = "", n: int = 3) -> tuple[list[int], str]:
        """The sentences a refusal cites and the words that lead them: the best-scored sentence, or,
        when the missing detail has a weaker form (no street address, but where the place was built:
        在国道、省道线上建设; 建设了徐州云集港口、大吴物流园等…“司机之家”), the first ``n`` sentences
        of that sentence's article giving it (not asking it: 在何处建设“司机之家”?)."""
        if not scored:
            return [], ""
        best = scored[0][1]
        form = NEAREST_FORM.get(detail)
        if form:
            first = self.index.sentences[best]
            article = self.index.sentence_ids_by_article().get((first.source, first.article), [])
            weaker = [sid for sid in article if self.chooser.gives(form["slot"], sid)][:n]
            if weaker:
                return weaker, form["lead"]
        return [best], "公报里最接近的内容"

    def nearby_topics(self, hits, n: int = 3) -> list[str]:
        """Titles of the articles of the best hits (one per article), to suggest as next questions;
        an untitled fragment's label (its first words) is no subject to ask about."""
        seen, out = set(), []
        for h in hits:
            key = (h.chunk.source, h.chunk.article)
            if key not in seen:
                seen.add(key)
                title = self.index.article_title(*key)
                if title and not is_untitled(title):
                    out.append(title)
            if len(out) == n:
                break
        return out
