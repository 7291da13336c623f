"""Cases: articles matching a topic, one result per article, for union staff looking for examples.

``CaseFinder.find`` retrieves widely, optionally filters by bulletin file, column and place, scores each
article by its best sentence for the query (the same scoring as extractive answers), and returns one
``CaseResult`` per article with a cited sentence (and the article's next best sentences that hold a
figure, which a short case list quotes too).  ``qa.exports`` writes a result list as CSV or Markdown.

An article's place filter values are the administrative divisions (``qa/data/places.txt``) its place
names, in full (江都 and 扬州市江都区总工会 both give 江都区): words jieba tags as places that are not
divisions (港湾, 琼港) are no filter values.  ``CaseFinder.origin`` says where a passage is from
(article title, place or organisation, column) for the chat's source lines.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .citations import cite
from .details import RE_DIGIT_FIGURE
from .wordlists import table, words

_MORE = table("scoring")  # case_more_margin: how far below an article's best sentence a figure sentence may score


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
    more: tuple[int, ...] = ()  # sentence ids: the article's next best sentences that hold a figure, best first
    sentence_id: int = -1  # the cited sentence's id in the index


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


# a division's name without its suffix (江都区 → 江都, 广西壮族自治区 → 广西); autonomous prefectures and
# counties (临夏回族自治州) are matched in full only: where their own name ends is not marked
_DIVISION_SUFFIX = re.compile(r"(?:(?:壮族|回族|维吾尔)?自治区|特别行政区|地区|省|市|县|区|盟|旗)$")
# districts whose names are everyday words in a bulletin (山西阳泉's 城区, 矿区, 郊区): never a place here
_GENERIC_DIVISIONS = frozenset({"城区", "矿区", "郊区"})


@functools.lru_cache(maxsize=1)
def _divisions() -> dict[str, str]:
    """Division names, in full and without their suffix, → the full name (a short name several
    divisions share maps to itself: 朝阳 is 朝阳区, 朝阳县 or 朝阳市)."""
    full = [n for n in words("places") if n not in _GENERIC_DIVISIONS]
    out = {n: n for n in full}
    shorts: dict[str, set[str]] = {}
    for n in full:
        if "自治" in n and not n.endswith("自治区"):
            continue
        short = _DIVISION_SUFFIX.sub("", n)
        if len(short) >= 2 and short != n:
            shorts.setdefault(short, set()).add(n)
    for short, names in shorts.items():
        out.setdefault(short, next(iter(names)) if len(names) == 1 else short)
    return out


def divisions_in(text: str) -> list[tuple[int, int, str]]:
    """The administrative divisions ``text`` names, left to right, longest name first at each place:
    (start, end, full name).  "扬州市江都区总工会" → 扬州市 (0–3), 江都区 (3–6)."""
    table = _divisions()
    longest = max(map(len, table))
    out, i = [], 0
    while i < len(text):
        for size in range(min(longest, len(text) - i), 1, -1):
            name = table.get(text[i:i + size])
            if name:
                out.append((i, i + size, name))
                i += size
                break
        else:
            i += 1
    return out


# a union a title or byline opens with (盐南高新区总工会“幸福驿站”持续升级, 琼港农场工会发挥…)
_RE_UNION_FIRST = re.compile(r"^([\u4e00-\u9fff]{2,10}?工会)")


# a company whose name holds the place (无锡华光环保能源集团股份有限公司, 中铁上海工程局集团市政环保公司)
_COMPANY_END = r"(?:集团|公司)"


def company_of(place: str, text: str) -> str:
    """The company ``text`` names with ``place`` inside its name, up to its first 集团 or 公司
    (无锡华光环保能源集团, 中铁上海工程局集团): a report on it is the company's, not the city's; else ""."""
    if place.endswith("工会"):
        return ""
    m = re.search(rf"[\u4e00-\u9fff]{{0,6}}?{re.escape(place)}(?:(?!工会)[\u4e00-\u9fff]){{1,14}}?{_COMPANY_END}", text)
    return m.group(0) if m else ""


def article_place(info: dict, fields: tuple[str, ...] = ("title", "byline", "text")) -> str:
    """``place_of`` read field by field (title, byline, first passage), keeping the first place that
    names a division: a title's 服务港湾 gives way to its byline's 徐州市贾汪区总工会; a division
    inside a company's name gives the company (无锡华光环保能源集团: its 母婴室 is not 无锡市's).  When none
    does, the union the title or byline opens with: a development zone's (盐南高新区总工会) or a farm's
    (琼港农场工会) is in no list of divisions, but a worker still needs to read whose report it is."""
    for key in fields:
        raw = place_of({key: info.get(key, "") or ""})
        if divisions_in(raw):
            return company_of(raw, info.get(key, "") or "") or raw
    for key in ("title", "byline"):
        if key in fields and (m := _RE_UNION_FIRST.match((info.get(key, "") or "").strip())):
            return m.group(1)
    return ""


def place_names(raw: str) -> tuple[str, ...]:
    """The full division names a place found by ``place_of`` names: its filter values ("" names none)."""
    return tuple(dict.fromkeys(name for _, _, name in divisions_in(raw or "")))


def place_label(raw: str) -> str:
    """A place found by ``place_of``, as a reader is shown it: from its first division on
    (由阜宁县总工会 → 阜宁县总工会), one division in full (江都 → 江都区), a company or a union in no
    division as named (中铁上海工程局集团, 盐南高新区总工会), "" otherwise (港湾, 琼港: words tagged as
    places that are none)."""
    found = divisions_in(raw or "")
    if not found:
        return raw if raw.endswith("工会") else ""  # a union outside any division (盐南高新区总工会)
    if raw.endswith(("集团", "公司")):  # a company, named in full (中铁上海工程局集团, not 上海工程局集团)
        return raw
    if len(found) == 1 and not raw.endswith("工会"):
        return found[0][2]
    return raw[found[0][0]:]


def says_place(text: str, place: str) -> bool:
    """``text`` names ``place`` (a place label, ``place_label``): one of its divisions, or for a union
    outside any division, its name before 工会 (盐南高新区)."""
    named = {n for _, _, n in divisions_in(place)}
    if named:
        return bool(named & {n for _, _, n in divisions_in(text)})
    stem = re.sub(r"总?工会$", "", place)
    return bool(stem) and stem in text


@dataclass(frozen=True)
class Origin:
    """Where a passage is from: its article's title ("" when the article has none), place or
    organisation ("" when unknown) and column."""
    title: str
    place: str
    column: str


class CaseFinder:
    """Case lists over one index: ``find(query, ...)`` and the filter values (``facets``)."""

    def __init__(self, index, retriever, chooser, analyse):
        self.index = index
        self.retriever = retriever
        self.chooser = chooser
        self.analyse = analyse  # question text → qa.question.Question
        self._facets: dict | None = None
        self._reported: frozenset[str] | None = None  # the divisions reports are about (reported_places)
        self._origins: dict[tuple, Origin] = {}  # (source, article) → its Origin, read once per article

    def facets(self) -> dict[str, list[str]]:
        """Values the case filters can take: bulletin files (a JSONL file once, not each record), columns,
        places (full division names; computed once)."""
        if self._facets is None:
            arts = self.index.articles()
            # places from titles and bylines only: tagging every passage would cost seconds per 1,000 articles
            places = {name for info in arts.values() if info.get("title") or info.get("byline")
                      for name in place_names(article_place(info, ("title", "byline")))}
            self._facets = {
                # files, not the records of a JSONL file (file.jsonl#id): 78k records would be 78k choices
                "sources": sorted({s.partition("#")[0] for s, _ in arts}),
                "columns": sorted({info.get("column", "") for info in arts.values()} - {""}),
                "places": sorted(places),
            }
        return self._facets

    def reported_places(self) -> frozenset[str]:
        """The divisions some report is about, read as ``origin`` reads a report's place (its title,
        byline and first words); computed once, when first asked."""
        if self._reported is None:
            arts = self.index.articles()
            self._reported = frozenset(name for info in arts.values() for name in place_names(article_place(info)))
        return self._reported

    def origin(self, source: str, offset: int) -> Origin:
        """Where the text at ``offset`` of ``source`` is from (``Origin``; empty for an unknown source).
        Worked out once per article (finding its place tags its title and first words): an answer asks
        for it (``Replies.place_unsaid``), then the page for each of the answer's citations."""
        article = self.index.article_at(source, offset)
        if article is None:
            return Origin("", "", "")
        found = self._origins.get((source, article))
        if found is None:
            info = self.index.article_info(source, article)
            found = Origin(info.get("title", "") or "", place_label(article_place(info)), info.get("column", "") or "")
            self._origins[(source, article)] = found
        return found

    def find(self, query: str, *, k: int = 8, sources=None, columns=None, places=None, pool: int = 60,
             margin: float | None = None, retrieval=None, analysed=None) -> list[CaseResult]:
        """One result per article, best first; at most ``k``; articles scoring more than ``margin``
        (default ``case_margin``, ``qa/data/scoring.json``) below the best dropped — but a request for
        several places (``Question.several``: 各地, 哪些地方, 谁家) reaches the ``case_several_min``-th best
        article when it scores within ``case_several_margin`` of the best.

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
        wanted = {name for p in places for name in place_names(p)}  # 江都, 扬州市江都区总工会 → 江都区

        def in_place(info: dict) -> bool:  # a place as the list names it, or as found before the list was cleaned
            return bool(wanted.intersection(place_names(article_place(info)))) or place_of(info) in places

        if sources or columns or places:
            def keep(h) -> bool:
                info = index.article_info(h.chunk.source, h.chunk.article)
                in_source = h.chunk.source in sources or h.chunk.source.partition("#")[0] in sources
                return ((not sources or in_source) and (not columns or h.chunk.column in columns)
                        and (not places or in_place(info)))
            hits = [h for h in hits if keep(h)]
        if not hits:
            return []
        best: dict[tuple, tuple] = {}
        # an article's other sentences holding a figure in digits (not 一个平台), best first
        runners: dict[tuple, list[int]] = {}
        for sc, sid, h in self.chooser.scored(q, hits, retrieval.query_vector):
            s = index.sentences[sid]
            key = (s.source, s.article)
            if key not in best:
                best[key] = (sc, sid, h)
            elif sc >= best[key][0] - _MORE["case_more_margin"] and RE_DIGIT_FIGURE.search(s.text):
                runners.setdefault(key, []).append(sid)
        # 除了江都, 还有哪些地方…: the articles about what the question leaves out are no case of it
        ranked = [r for r in sorted(best.values(), key=lambda x: -x[0]) if not (q.excluded and self._excluded(q, r[1]))]
        if not ranked:
            return []
        margin = float(_MORE["case_margin"]) if margin is None else margin
        top = ranked[0][0]
        if q.several and len(ranked) > 1:
            # 各地…/哪些地方…: one report far ahead of the rest does not make it the only case; the
            # list reaches the case_several_min-th best article when it scores within case_several_margin
            nth = ranked[min(int(_MORE["case_several_min"]), len(ranked)) - 1][0]
            if nth >= top - float(_MORE["case_several_margin"]):
                margin = max(margin, top - nth)
        out: list[CaseResult] = []
        # the only case found is quoted as fully as a short answer's one sentence (产生效益45万元 comes
        # after the activities it follows from); a line in a longer list is shorter
        within = sum(1 for sc, _, _ in ranked[:k] if sc >= top - margin)
        limit = _MORE["answer_chars_one"] if within == 1 else _MORE["case_chars"]
        for sc, sid, h in ranked:
            if len(out) >= k or sc < top - margin:
                break
            got = cite(index, sid, len(out) + 1, self.chooser.clause_scorer(q), limit=limit,
                       must_have=q.has_slot if q.slot else None)
            if got is None:
                continue
            part, c = got
            s = index.sentences[sid]
            info = index.article_info(s.source, s.article)
            # the place as the chat's source lines and the filter show it (江都 → 江都区; 港湾 is none)
            out.append(CaseResult(index.article_title(s.source, s.article), place_label(article_place(info)),
                                  info.get("column", ""),
                                  s.source, part, c.start, c.end, c.text, round(float(sc), 4), s.article,
                                  tuple(runners.get((s.source, s.article), ())[:3]), sid))
        return out

    def _excluded(self, q, sid: int) -> bool:
        """The article of sentence ``sid`` is about what the question leaves out (除了江都, 还有哪些地方…):
        its title, its place or the sentence names it."""
        s = self.index.sentences[sid]
        info = self.index.article_info(s.source, s.article)
        return q.is_excluded(" ".join((self.index.article_title(s.source, s.article), article_place(info), s.text)))
