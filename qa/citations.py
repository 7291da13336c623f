"""Citations: a sentence (or its best whole clauses) cut from the index and returned as a
``Citation`` whose offsets point into the source text, checked before it is shown; and the check
of a whole answer (``verify_answer``).
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

from .articles import ends_sentence
from .records import MARK, Answer, Citation

_RE_LEAD_MARK = re.compile(r"^(本报讯|本刊讯)\s*([(（][^)）]{0,30}[)）])?\s*")


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


_OPEN, _CLOSE = "“‘《（(「『【", "”’》）)」』】"


# a clause that only sets the scene for the next one (针对…, 为了…, 在…指导下,): a window does not end on it
_RE_LEAD_IN = re.compile(r"^\s*(?:针对|为了|为|随着|根据|按照|依照|通过|围绕|对于|面对|聚焦|基于|依托|借助|"
                         r"在[^,，;；]{1,30}(?:下|中|上|后|时|里|期间|之际))[^,，;；]*[,，;；]?$")
# a clause ending on a verb whose object is the next clause (…走访时发现, 他表示, 据了解到), on 后/时 (何某军离职后,),
# or on the short name it gives its subject (以下简称“华光装备”): what it leads into is the next clause, so a window
# does not end on it
_RE_LEADS_INTO = re.compile(r"(?:发现|表示|指出|认为|介绍|了解到|得知|获悉|强调|称|说|[^最今此随然落前背]后|(?<![小及同按准随当平临暂])时"
                            r"|以下简称[^)）]{0,16}[)）])\s*[,，:：]?$")  # …装备事业部(以下简称“华光装备”), names the subject only
_RE_ECHO = re.compile(r"哪里|哪儿|什么|谁")  # 行驶到哪里,党的工作就覆盖到哪里: one thought in two clauses


def _join_echoes(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Neighbouring clauses that repeat the same indefinite word (…到哪里,…就…到哪里) as one clause:
    cut between them, the first half says nothing."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out:
            prev = set(_RE_ECHO.findall(text[out[-1][0]:out[-1][1]]))
            if prev & set(_RE_ECHO.findall(text[a:b])):
                out[-1] = (out[-1][0], b)
                continue
        out.append((a, b))
    return out


def _clauses(text: str, quotes: bool = True) -> list[tuple[int, int]]:
    """Clause spans of a sentence, cut after , ; : — never inside quotes or brackets, so that a
    quoted title (以“不忘初心,在奋斗中前行”为题) or a bracketed list stays whole (unless a quote
    the layout broke never closes: then every comma cuts), nor between the halves of an echo
    (``_join_echoes``)."""
    out, start, depth = [], 0, 0
    for i, ch in enumerate(text):
        if quotes and ch in _OPEN:
            depth += 1
        elif quotes and ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch in ",，;；:：" and depth == 0:
            out.append((start, i + 1))
            start = i + 1
    if start < len(text):
        out.append((start, len(text)))
    return _clauses(text, quotes=False) if depth and quotes else _join_echoes(text, out)


def trim(sentence: str, score_clause: Callable[[str], float], limit: int = 90,
         must_have: Callable[[str], bool] | None = None) -> tuple[int, int]:
    """The best window of whole clauses within ``limit`` characters (offsets into ``sentence``);
    when ``must_have`` accepts some clauses, the window keeps the best-scoring of them."""
    sentence = sentence[:_whole_end(sentence)]
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
            if cl[j][1] - cl[i][0] < min(24, len(sentence)):
                continue  # a scrap of a clause is no answer (使职工合法权益得到维护, a sentence's last): grow the window
            if j + 1 < len(cl) and (_RE_LEAD_IN.match(sentence[cl[j][0]:cl[j][1]])
                                    or _RE_LEADS_INTO.search(sentence[cl[j][0]:cl[j][1]])):
                continue  # 针对工资拖欠…等热点问题 or …走访时发现 says nothing until the clause it leads into
            if total > best:
                best, best_span = total, (cl[i][0], cl[j][1])
    a, b = best_span
    while b > a and sentence[b - 1] in ",，;；:：":  # do not end on a comma
        b -= 1
    return a, b


def _whole_end(sentence: str) -> int:
    """Where ``sentence`` ends once a last clause the layout cut off is left out: a sentence with no end
    mark whose last clause opens a quote or bracket it never closes (射阳's …为职工提供更加方便、快捷的“线,
    whose rest is not in the bulletin) ends before that clause, when at least 24 characters come before it."""
    if ends_sentence(sentence):
        return len(sentence)
    cl = _clauses(sentence, quotes=False)
    a, b = cl[-1]
    last = sentence[a:b]
    if a < 24 or not any(last.count(o) > last.count(c) for o, c in zip(_OPEN, _CLOSE)):
        return len(sentence)
    return len(sentence[:a].rstrip(",，;；:："))


def drop_unopened_closer(text: str, a: int, b: int) -> int:
    """``b`` moved before closing quotes or brackets at the end of ``text[a:b]`` that it never opened
    (a sentence that ends a quotation begun in the sentence before: …查阅资料特别方便。”)."""
    while b > a and text[b - 1] in _CLOSE:
        closer = text[b - 1]
        opener = _OPEN[_CLOSE.index(closer)]
        part = text[a:b]
        if part.count(opener) >= part.count(closer):
            break
        b -= 1
    return b


def cite(index, sid: int, n: int, score_clause: Callable[[str], float], *, limit: int = 90,
         must_have: Callable[[str], bool] | None = None) -> tuple[str, Citation] | None:
    """Sentence ``sid`` of ``index`` (trimmed to its best clauses within ``limit``) and its citation
    ``[n]``; None when the span does not verify against the source text."""
    s = index.sentences[sid]
    a, b = trim(s.text, score_clause, limit, must_have)
    b = drop_unopened_closer(s.text, a, b)
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
    cited = index.texts.get(s.source, "")[start:end]
    if squash(part) not in squash(cited):
        return None
    return part, Citation(n, s.source, index.article_title(s.source, s.article), start, end, cited,
                          page=index.page_of(s.source, start))


def verify_answer(answer: Answer, source_text) -> list[str]:
    """Problems with an answer's citations (empty when all verify); ``source_text(source) -> str``."""
    problems = []
    by_n = {c.n: c for c in answer.citations}
    for m in MARK.finditer(answer.text):
        if int(m.group(1)) not in by_n:
            problems.append(f"[{m.group(1)}] has no citation")
    for c in answer.citations:
        text = source_text(c.source)
        if text[c.start:c.end] != c.text:
            problems.append(f"[{c.n}] {c.source}[{c.start}:{c.end}] does not match its text")
    return problems


def pieces(text: str) -> Iterator[str]:
    """An extractive answer in display pieces: each cited sentence (up to its [n]) or line."""
    for m in re.finditer(r".*?(?:\[\d+\]|\n|$)", text, re.S):
        if m.group():
            yield m.group()
