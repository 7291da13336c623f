"""Cases: articles matching a topic, one result per article, for union staff looking for examples.

``CaseFinder.find`` retrieves widely, optionally filters by bulletin file, column and place, scores each
article by its best sentence for the query (the same scoring as extractive answers), and returns one
``CaseResult`` per article with a cited sentence.  ``qa.exports`` writes a result list as CSV or Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .citations import cite


@dataclass(frozen=True)
class CaseResult:
    title: str
    place: str
    column: str
    source: str
    sentence: str  # the cited sentence (verbatim, possibly trimmed to whole clauses)
    start: int  # offsets of the cited span in the source text
    end: int
    cited: str  # source[start:end]
    score: float
    article: int


_RE_ORG = re.compile(r"([\u4e00-\u9fff]{2,10}?(?:市|县|区|省|镇|自治区)?总工会)")


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


class CaseFinder:
    """Case lists over one index: ``find(query, ...)`` and the filter values (``facets``)."""

    def __init__(self, index, retriever, chooser, analyse):
        self.index = index
        self.retriever = retriever
        self.chooser = chooser
        self.analyse = analyse  # question text → qa.question.Question
        self._facets: dict | None = None

    def facets(self) -> dict[str, list[str]]:
        """Values the case filters can take: bulletin files, columns, places (computed once)."""
        if self._facets is None:
            arts = self.index.articles()
            # places from titles and bylines only: tagging every passage would cost seconds per 1,000 articles
            places = {place_of({"title": info.get("title", ""), "byline": info.get("byline", "")})
                      for info in arts.values() if info.get("title") or info.get("byline")}
            self._facets = {
                "sources": sorted({s for s, _ in arts}),
                "columns": sorted({info.get("column", "") for info in arts.values()} - {""}),
                "places": sorted(places - {""}),
            }
        return self._facets

    def find(self, query: str, *, k: int = 8, sources=None, columns=None, places=None, pool: int = 60,
             margin: float = 0.2, retrieval=None, analysed=None) -> list[CaseResult]:
        """One result per article, best first; at most ``k``; articles scoring far below the best dropped.

        ``retrieval`` (of the query without its case words, ``k=pool``) and ``analysed`` (its
        ``Question``) are reused when given."""
        from .retrieve import check_question

        query = check_question(query)
        q = analysed or self.analyse(query)
        index = self.index
        if retrieval is None:
            retrieval = self.retriever.retrieve_many([q.search_text or query], k=min(len(index.chunks), pool) or 1)[0]
        hits = retrieval.hits
        sources, columns, places = set(sources or ()), set(columns or ()), set(places or ())
        if sources or columns or places:
            def keep(h) -> bool:
                info = index.article_info(h.chunk.source, h.chunk.article)
                return ((not sources or h.chunk.source in sources) and (not columns or h.chunk.column in columns)
                        and (not places or place_of(info) in places))
            hits = [h for h in hits if keep(h)]
        if not hits:
            return []
        best: dict[tuple, tuple] = {}
        for sc, sid, h in self.chooser.scored(q, hits, retrieval.query_vector):
            s = index.sentences[sid]
            best.setdefault((s.source, s.article), (sc, sid, h))
        ranked = sorted(best.values(), key=lambda x: -x[0])
        top = ranked[0][0]
        out: list[CaseResult] = []
        for sc, sid, h in ranked:
            if len(out) >= k or sc < top - margin:
                break
            got = cite(index, sid, len(out) + 1, self.chooser.clause_scorer(q), limit=80,
                       must_have=q.has_slot if q.slot else None)
            if got is None:
                continue
            part, c = got
            s = index.sentences[sid]
            info = index.article_info(s.source, s.article)
            out.append(CaseResult(index.article_title(s.source, s.article), place_of(info), info.get("column", ""),
                                  s.source, part, c.start, c.end, c.text, round(float(sc), 4), s.article))
        return out
