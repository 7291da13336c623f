"""Cases: articles matching a topic, one result per article, for union staff looking for examples.

``find_cases`` retrieves widely, optionally filters by bulletin file, column and place, scores each
article by its best sentence for the query (the same scoring as extractive answers), and returns one
``CaseResult`` per article with a cited sentence.  ``to_csv`` / ``to_markdown`` export a result list.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass


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


def facets(index) -> dict[str, list[str]]:
    """Values the case filters can take: bulletin files, columns, places (computed once per index)."""
    from .answer import place_of

    cache = index._cache
    if "facets" not in cache:
        arts = index._articles()
        # places from titles and bylines only: tagging every passage would cost seconds per 1,000 articles
        places = {place_of({"title": info.get("title", ""), "byline": info.get("byline", "")})
                  for info in arts.values() if info.get("title") or info.get("byline")}
        cache["facets"] = {
            "sources": sorted({s for s, _ in arts}),
            "columns": sorted({info.get("column", "") for info in arts.values()} - {""}),
            "places": sorted(places - {""}),
        }
    return cache["facets"]


def find_cases(answerer, query: str, *, k: int = 8, sources=None, columns=None, places=None,
               pool: int = 60, margin: float = 0.2, retrieval=None, analysed=None) -> list[CaseResult]:
    """One result per article, best first; at most ``k``; articles scoring far below the best dropped.

    ``retrieval`` (from ``answerer.retriever.retrieve_many([...], k=pool)``) and ``analysed`` (the
    answerer's analysis of the query without its case words) are reused when given."""
    from .answer import _CASE_WORDS, place_of
    from .retrieve import check_question

    query = check_question(query)
    search_q = _CASE_WORDS.sub(" ", query).strip() or query
    index = answerer.index
    if retrieval is None:
        retrieval = answerer.retriever.retrieve_many([search_q], k=min(len(index.chunks), pool) or 1)[0]
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
    q = analysed or answerer._query(search_q)
    best: dict[tuple, tuple] = {}
    for sc, sid, h in answerer._scored_sentences(q, hits, retrieval.query_vector):
        s = index.sentences[sid]
        best.setdefault((s.source, s.article), (sc, sid, h))
    ranked = sorted(best.values(), key=lambda x: -x[0])
    top = ranked[0][0]
    out: list[CaseResult] = []
    for sc, sid, h in ranked:
        if len(out) >= k or sc < top - margin:
            break
        got = answerer._cite(sid, len(out) + 1, q, limit=80)
        if got is None:
            continue
        part, c = got
        s = index.sentences[sid]
        info = index.article_info(s.source, s.article)
        out.append(CaseResult(index.article_title(s.source, s.article), place_of(info), info.get("column", ""),
                              s.source, part, c.start, c.end, c.text, round(float(sc), 4), s.article))
    return out


FIELDS = ("title", "place", "column", "source", "start", "end", "sentence")


def to_csv(cases: list[CaseResult]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore")
    w.writeheader()
    for c in cases:
        w.writerow(asdict(c))
    return buf.getvalue()


def to_markdown(cases: list[CaseResult], query: str = "") -> str:
    def cell(x) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = [f"# 案例：{cell(query)}", ""] if query else []
    lines += ["| # | 标题 | 地区/单位 | 栏目 | 摘录 | 出处 |", "| --- | --- | --- | --- | --- | --- |"]
    for i, c in enumerate(cases, 1):
        lines.append(f"| {i} | {cell(c.title)} | {cell(c.place)} | {cell(c.column)} | {cell(c.sentence)} | "
                     f"{cell(c.source)} [{c.start}:{c.end}] |")
    return "\n".join(lines) + "\n"
