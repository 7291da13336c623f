"""Answers: the one call the CLI and the app use, ``Answerer(index).ask(question, history=[])``.

A thin orchestrator over the modules that do the work:

1. ``qa.conversation`` resolves a follow-up into a standalone question;
2. ``qa.question`` reads what it asks for (slot, case list, 除了 …), in the bulletins' words
   (``qa.vocabulary`` repairs typos, pinyin and English first);
3. ``qa.retrieve`` finds passages; ``qa.sentences`` ranks their sentences;
4. ``qa.answerability`` decides from that evidence whether the bulletins answer it;
5. ``qa.replies`` writes a short cited answer, a case list (``qa.cases``), or a refusal that still
   cites the nearest thing the bulletins say and suggests nearby topics; in LLM mode (``qa.llm``)
   the endpoint writes the text, checked sentence by sentence;
6. the passages shown with it begin with the ones it cites (``cited_first``): sentence choice reads
   more than retrieval (the question's words in a sentence's context, the asked detail), so the
   passage it takes the answer from is the better first source.

Every citation is verified before it is returned (``qa.citations``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Iterator, Sequence

from .answerability import AnswerabilityModel
from .cases import CaseFinder
from .citations import pieces
from .conversation import condense, earlier_answers, last_question, names_no_subject, new_subject, with_subject
from .evidence import EvidenceReader
from .names import names_in, places_in
from .question import Question, analyse
from .records import Answer, Citation
from .related import RelatedWords
from .replies import Replies
from .retrieve import Retriever, check_question
from .said import Said, said_spans
from .sentences import SentenceChooser
from .vocabulary import Vocabulary
from .wordlists import table

_SCORING = table("scoring")


def cited_first(hits: Sequence, citations: Sequence[Citation]) -> tuple:
    """``hits`` reordered so that, in citation order, the passage holding each cited span comes
    first; the rest keep their order.  ``rank`` is renumbered; ``retrieved_rank`` keeps retrieval's."""
    first: list = []
    for c in citations:
        for h in hits:
            ch = h.chunk
            if ch.source == c.source and ch.start <= c.start and c.end <= ch.end:
                if h not in first:
                    first.append(h)
                break
    ordered = first + [h for h in hits if h not in first]
    return tuple(dataclasses.replace(h, rank=r) for r, h in enumerate(ordered, 1))


@dataclasses.dataclass(frozen=True)
class _Found:
    """What one reading of a question found: its analysis, retrieval, ranked and chosen sentences and
    the answerability decision (with the time spent reading it and when retrieval ended)."""

    q: Question
    retrieval: object
    scored: list
    chosen: list
    support: dict
    read_ms: float
    t_ret: float
    cases: list | None = None  # a case question's articles (``Replies.find_cases``)
    signed: object = None  # a who-is question answered by a byline (``Replies.signed``), when no sentence names the person


class Answerer:
    def __init__(self, index, embedder=None, *, k: int = 5, fusion: str = "adaptive", llm=None,
                 answerability: AnswerabilityModel | None = None):
        if k < 1:
            raise ValueError(f"k={k}: must be at least 1")
        self.index = index
        self.k = k
        self.retriever = Retriever(index, embedder, fusion=fusion)
        self.related = RelatedWords(index, self.retriever.embedder)
        self.vocabulary = Vocabulary(index, self.related)
        self.chooser = SentenceChooser(index, places_of=lambda sid: self.replies.places_about(sid))
        self.case_finder = CaseFinder(index, self.retriever, self.chooser, self.analyse)
        self.replies = Replies(index, self.chooser, self.case_finder)
        self.evidence = EvidenceReader(index, self.vocabulary, self.chooser, places_of=self.replies.places_about,
                                       reported_places=self.case_finder.reported_places)
        self.answerability = answerability or AnswerabilityModel.default()
        self.llm = llm
        if llm is not None and getattr(llm, "embedder", None) is None:
            llm.embedder = self.retriever.embedder  # for the support check of LLM sentences

    # -- public API
    def with_index(self, index) -> "Answerer":
        """The same model and settings over another index (the page moves to it once staff have
        added or removed a bulletin; answers already under way finish on the old one)."""
        return Answerer(index, self.retriever.embedder, k=self.k, fusion=self.retriever.fusion, llm=self.llm,
                        answerability=self.answerability)

    @property
    def writes_in_pieces(self) -> bool:
        """True when an answer's text is written piece by piece (LLM mode), so that showing the
        pieces as they come is worth a message each; an extractive answer is whole before its first
        piece (``ask_stream`` then yields its finished text cut into pieces)."""
        return self.llm is not None

    def warm_up(self, *, wait_for_related: bool = True) -> None:
        """Load the model, the word cutter, the tagger, the index lookups and the vocabulary's vectors
        now, not in the first question.  ``wait_for_related=False`` (the app): the related words'
        vectors are made in the background instead (``RelatedWords.start``; a minute or more for a
        large index), and questions asked meanwhile are answered without related words."""
        if wait_for_related:
            self.related.load()
        else:
            self.related.start()
        self.ask("滨海县总工会补发了多少加班工资?")
        self.evidence.sentence_background()

    def analyse(self, question: str) -> Question:
        return analyse(question, self.vocabulary)

    def find_cases(self, query: str, **kw):
        """Case list for union staff (see ``qa.cases.CaseFinder.find``)."""
        return self.case_finder.find(query, **kw)

    def facets(self) -> dict[str, list[str]]:
        return self.case_finder.facets()

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
        found, standalone = self._read_in_context(question, history, k)
        q, retrieval, scored, chosen, support = found.q, found.retrieval, found.scored, found.chosen, found.support
        t_read, t_ret = found.read_ms, found.t_ret
        hits = retrieval.hits
        pool = hits[:self.pool_size(k)]  # the passages sentences were chosen from; k of them are shown
        article = self.replies.titled(question)
        if article is not None:  # a related topic tapped: what that article says nearest the question before, or first
            earlier = last_question(history) if history else None
            near = self.retriever.query_vector(earlier) if earlier else None
            said = Said(said_spans(earlier_answers(history)), q) if history else None
            ans = self.replies.about_article(question, pool, q, article, near, said)
            support = {**support, "supported": not ans.refused, "why": "article_title"}
        elif not support["supported"]:
            ans = self.replies.refusal(question, standalone, pool, scored, q,
                                       support.get("missing") or support.get("absent") or (),
                                       detail=support["slot"] if support.get("why") == "detail_missing" else
                                       "cases" if support.get("why") == "topic_missing" else "")
        elif found.signed is not None:
            ans = found.signed
        elif q.wants_cases:
            ans = self.replies.cases(question, standalone, k, retrieval, q, pool, scored, found.cases)
        else:
            ans = self.replies.short(question, standalone, pool, scored, chosen, q)
        if self.llm is not None and not ans.refused:
            from .llm import LLMError

            try:
                for piece in self.llm.answer_stream(standalone, hits[:k], self.index):
                    if isinstance(piece, str):
                        yield piece
                    else:
                        ans = dataclasses.replace(piece, question=question, standalone_question=standalone)
            except LLMError as e:
                ans = dataclasses.replace(ans, mode="extractive-fallback", notice=f"LLM 不可用（{e}），显示摘录式答案")
                yield ans.text
        else:
            yield from pieces(ans.text)
        ans = dataclasses.replace(ans, passages=cited_first(ans.passages, ans.citations)[:k])
        now = time.perf_counter()
        timings = {"embed": retrieval.timings_ms.get("embed", 0.0), "read": t_read, "search": retrieval.timings_ms.get("search", 0.0),
                   "answer": (now - t_ret) * 1000, "total": (now - t_start) * 1000}
        yield dataclasses.replace(ans, timings_ms=timings, support=support)

    def _read_in_context(self, question: str, history: Sequence, k: int) -> tuple["_Found", str]:
        """The question read in its conversation: (what that reading found, the standalone question).
        A follow-up takes the earlier subject (``qa.conversation``, or the LLM's rewrite); where the
        reading is in doubt, both are tried and the one below kept."""
        standalone = condense(question, history) if history else question
        if self.llm is not None and history:
            standalone = self.llm.condense(question, history, fallback=standalone)
        spans = said_spans(earlier_answers(history)) if history else ()
        said = Said(spans, self.analyse(question)) if spans else None  # a follow-up asks for something new
        found = self._find(question, standalone, k, said if standalone != question else None)
        alternative = with_subject(question, history) if history and self.llm is None else None
        if alternative is not None:  # names no subject of its own: also asked about the earlier one
            other = self._find(question, alternative, k, said)
            if (other.support["supported"], other.support["p"]) > (found.support["supported"], found.support["p"]):
                found, standalone = other, alternative
        elif standalone != question and self._names_its_own_missing_subject(question, found.support.get("missing", ())):
            # 喀什那边有司机之家吗 after a question about an injury: a new subject in a place the bulletins
            # never mention, refused with the nearest thing to its own words, not the earlier subject's
            found, standalone = self._find(question, question, k), question
        elif standalone != question and (new := new_subject(question, history)):
            # 劳模有钱拿吗 after 职工书屋几点开门: refused as the reading room's hours, or 劳模能去疗养不 after a
            # question about riders' rest stops: answered with the rest stops again.  Read alone it is
            # answered, or refused about its own words (社保断缴咋补), not the earlier subject's.
            # Read alone only when the follow-up reading is refused, its passages never name the new
            # words, or the bulletins never do and its answer holds none of the question's words
            # (公积金咋取出来 after a wage question; 能洗衣服不 after the drivers' home has its 洗衣机)
            unheard = not any(self.vocabulary.known(w) for w in new) and not self._answers_own_words(question, found)
            unnamed = not self._mentions(found, new, passages=True)
            if not found.support["supported"] or unnamed or unheard:
                alone = self._find(question, question, k)
                if not found.support["supported"] or unheard or (
                        self._mentions(alone, new)
                        # refused alone (哪有母婴室 after a 述职 question): kept only over a follow-up reading
                        # that says again what was said, or whose passages never name the new words
                        # (学插花哪里有 after a question about 义乌's 金地瓜 platform got the platform again)
                        and (alone.support["supported"] or self._repeats(found, said) or unnamed)):
                    found, standalone = alone, question
        return found, standalone

    def _answers_own_words(self, question: str, found: "_Found") -> bool:
        """A reading with the earlier subject answers the question itself: its sentences hold the detail
        the question asks (几点开门 → 24小时), or one of the question's own words (能洗衣服不 → 洗衣机), or
        it has none (digits aside)."""
        if found.support.get("slot_found"):
            return True
        own = [t for t in self.analyse(question).tokens if not t.isdigit()]
        return not own or self._mentions(found, own)

    def _repeats(self, found: "_Found", said: Said | None) -> bool:
        """Every sentence a reading chose was cited by the conversation's last answers."""
        return said is not None and bool(found.chosen) and all(said.said(self.index.sentences[sid].text) for sid in found.chosen)

    def _mentions(self, found: "_Found", words: Sequence[str], passages: bool = False) -> bool:
        """The sentences a reading chose (its nearest one when refused), or with ``passages`` the
        passages holding them, name one of ``words`` or a word the question reads it as (疗养 → 疗休养)."""
        if passages:
            hit_of = {sid: h for _, sid, h in found.scored}
            texts = [hit_of[sid].chunk.text for sid in found.chosen[:3] if sid in hit_of]
        else:
            texts = [self.index.sentences[sid].text for sid in found.chosen[:3]]
        texts = [t.lower() for t in texts]  # the question's app is the bulletins' APP
        return any(w.lower() in t or any(x.lower() in t for x in found.q.synonyms.get(w, ())) for w in words for t in texts)

    @staticmethod
    def pool_size(k: int) -> int:
        """How many of the best passages an answer's sentences are chosen from: ``sentence_passages``
        (``qa/data/scoring.json``), or ``k`` when more are asked for; ``k`` of them are shown."""
        return max(k, int(_SCORING["sentence_passages"]))

    @staticmethod
    def _names_its_own_missing_subject(question: str, missing: Sequence[str]) -> bool:
        """The question names something no bulletin mentions (喀什) and a subject besides it (司机之家);
        那喀什呢 names only the place and keeps the earlier subject."""
        if not missing or not all(m in question for m in missing):
            return False
        rest = question
        for m in missing:
            rest = rest.replace(m, " ")
        return not names_no_subject(rest)

    def _find(self, question: str, standalone: str, k: int, said: Said | None = None) -> "_Found":
        """Read the standalone question, retrieve, rank sentences (not again those the previous
        answer ``said``, when others will do) and decide answerability."""
        t_read = time.perf_counter()
        q = self.analyse(standalone)
        if standalone != question:
            q = q.asking_as(self.analyse(question))
        t_read = (time.perf_counter() - t_read) * 1000  # reading it: its words, related words embedded
        search = self.vocabulary.written(self.vocabulary.repair(q.search_text) or q.search_text)
        retrieval = self.retriever.retrieve_many([search], k=max(k, 60) if q.wants_cases else max(k, 8))[0]
        if q.who:  # 韩文豪是谁: the passages naming him, wherever the search ranked them
            retrieval = self.retriever.holding(retrieval, q.who, self.pool_size(k))
        t_ret = time.perf_counter()
        hits = retrieval.hits
        scored = self.chooser.scored(q, hits[:self.pool_size(k)], retrieval.query_vector, said)
        chosen = self.chooser.choose(q, scored, said)
        # a case list's subject alone (无偿献血): the union frame of the request comes close to every report
        topic = self.retriever.closeness([q.topic])[0] if q.wants_cases and q.topic else None
        # a case list says what its lines say: the asked detail (吸纳了多少人) may be in any of them
        cases = self.replies.find_cases(standalone, k, retrieval, q) if q.wants_cases else None
        said_by = Replies.case_sentences(cases) if cases else chosen
        # a follow-up on the earlier subject (那晚上呢 开到几点, not 那滨江呢): the sentences its last answer cited
        earlier = ([sid for _, sid, _ in scored if said.said(self.index.sentences[sid].text)]
                   if said is not None and not places_in(question) and not names_in(question) else [])
        evidence = self.evidence.read(q, hits, retrieval.top_dense, scored, said_by, retrieval.query_vector, topic,
                                      earlier=earlier)
        # 万月是干啥的 / 江都区总工会主席是谁: a person no sentence names as asked is answered by a byline
        signed = (self.replies.signed(question, standalone, hits[:self.pool_size(k)], q)
                  if evidence.detail_missing and (q.who or q.slot == "person") else None)
        if signed is not None:
            evidence = dataclasses.replace(evidence, slot_found=True)
        support = self.answerability.decide(evidence)
        if earlier and support.get("why") == "detail_missing":
            # the refusal's nearest sentence from the report the conversation is about (那晚上呢 开到几点 after
            # 连云区's stations: theirs, not 徐州贾汪's 24小时)
            scored = sorted(scored, key=lambda x: not any(self.chooser.same_report(x[1], e) for e in earlier))
        return _Found(q, retrieval, scored, chosen, support, t_read, t_ret, cases, signed)
