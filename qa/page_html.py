"""HTML the chat page shows, all bulletin text escaped: an answer's chat message with its [n] links and
its short source list, each answer's group of cards in the sources panel, the panel itself, the case
list of the 案例查找 tab and its file filter's labels.  Pure functions over ``qa.records`` (no Gradio):
``app.py`` puts them on the page."""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

from .articles import UNTITLED, is_untitled
from .cases import Origin
from .records import TOPICS_LEAD, Answer

SOURCES_PENDING = "<p>正在找出处…</p>"
SOURCES_EMPTY = "<p>回答引用的公报原文会显示在这里，被引用的句子会高亮。</p>"
TOPICS_HINT = "可以点回答下面的相关话题接着问。"  # a refusal's topics are chips under the answer (above the input box), not text
SOURCE_LIST = '<small class="answer-sources">'  # starts an answer's short source list in its chat message
KEPT_SOURCES = 20  # answers whose cards the sources panel keeps (newest first)
OPEN_GROUPS = 1  # of them, shown open: the newest; the older ones are folded to their question


def esc(text: str) -> str:
    """Escape for HTML and neutralise Markdown emphasis/links, so bulletin text shows as typed."""
    t = html.escape(text, quote=False)
    return re.sub(r"([\\`*_\[\]#|~])", r"\\\1", t)


def plain(markup: str) -> str:
    """The text a chat message shows, from its markup: tags dropped, ``esc`` undone (a follow-up
    reads the earlier turns as typed and answered, not as escaped for the page)."""
    text = re.sub(r"<[^>]+>", "", markup)
    return html.unescape(re.sub(r"\\([\\`*_\[\]#|~])", r"\1", text))


def _file_name(source: str) -> str:
    """The bulletin's file name (no folders, no ``#part``) as the page names it."""
    return Path(source.split("#")[0]).name


def _turn(turn: int) -> int:
    """``turn``, checked: an answer's number in the session counts from 1."""
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
        raise ValueError(f"answer number must be a whole number from 1, not {turn!r}")
    return turn


def cite_id(turn: int, n: int) -> str:
    """Id of the sources panel card of citation ``[n]`` of the session's answer number ``turn``: unique
    per answer, so an older answer's [n] still lands on its own card."""
    return f"src-{_turn(turn)}-{n}"


SOURCE_TITLE_CHARS = 36  # a title in an answer's source line is cut to this (its card shows it whole); 24 cut 安徽…追回欠薪21… before its figure
FIRST_WORDS = 16  # an untitled passage is named by its first words, this many at most


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _first_words(text: str) -> str:
    """A passage's first words, up to its first sentence end or ``FIRST_WORDS`` characters, then …"""
    head = re.split(r"[。！？；!?;\n]", text.strip(), maxsplit=1)[0].strip().rstrip("…")
    return head[:FIRST_WORDS] + "…" if head else ""


def article_name(title: str, *, cut: int = 0, passage: str = "") -> str:
    """How the page names a passage's article for a worker (not escaped): 《title》 (cut to ``cut``
    characters when given); an article without a title by its first words (近日,亭湖区总工会组织…: the
    words ``qa.articles.untitled_label`` kept, else the cited ``passage``'s), not by a column
    (【主席之声】) or a placeholder (无题报道) that tell a worker nothing."""
    if title and not is_untitled(title):
        return f"《{_cut(title, cut) if cut else title}》"
    words = _first_words(title[len(UNTITLED):] if title else "") or _first_words(passage)
    return words or "公报原文"


_UPLOAD_HASH = re.compile(r"-[0-9a-f]{10}$")  # what ``qa.staff.safe_name`` adds to an uploaded file's name


def bulletin_name(source: str) -> str:
    """The bulletin (issue) a passage is from, as a reader names it: its file name without folders and
    suffix when that is a Chinese name (江苏工会通讯2024年第3期: the index knows no other name of an
    issue; an upload's hash and the _ its name got for spaces left out: 滨海 公报), else "" (004_860c
    567145cca00b, issue3: the page keeps such a name for staff, under 原文位置)."""
    stem = _UPLOAD_HASH.sub("", Path(_file_name(source)).stem)
    stem = re.sub(r"\s+", " ", stem.replace("_", " ")).strip()
    return stem if re.search(r"[\u4e00-\u9fff]", stem) else ""


def render_source_list(ans: Answer, turn: int, origins: dict[int, Origin] | None = None) -> str:
    """The answer's own short source list, for its chat bubble: one small line per cited article and
    page, saying where the passage is from in a worker's words (``[1][2] 《title》 · place · bulletin ·
    第 N 页``, each [n] a link to its card; the file name only as the line's tooltip, for staff: the
    card has it under 原文位置); "" without citations.  ``origins``: each citation's
    ``qa.cases.Origin`` by its [n] (the place)."""
    origins = origins or {}
    lines: dict[tuple, list[int]] = {}
    for c in ans.citations:
        o = origins.get(c.n)
        key = (article_name(c.title, cut=SOURCE_TITLE_CHARS, passage=c.text), o.place if o else "",
               bulletin_name(c.source), _file_name(c.source), c.page)
        lines.setdefault(key, []).append(c.n)
    out = []
    for (name, place, issue, file, page), ns in lines.items():
        marks = "".join(f'<a class="cite" href="#{cite_id(turn, n)}">[{n}]</a>' for n in ns)
        parts = (esc(name), esc(place), esc(issue), f"第 {page} 页" if page else "")
        out.append(f'<span class="src-line" title="{html.escape(file)}">{marks} '
                   + " · ".join(x for x in parts if x) + "</span>")
    return SOURCE_LIST + "<br>".join(out) + "</small>" if out else ""


def render_answer(ans: Answer, turn: int, origins: dict[int, Origin] | None = None) -> str:
    """Chat message for the session's answer number ``turn``: escaped text with [n] turned into links
    to its cards in the sources panel, then its short source list (and a notice, if any).  A refusal's
    nearby topics are not repeated in its text: the page shows them once, as chips to tap, and the
    text points to them."""
    text = ans.text
    if ans.refused and ans.topics and TOPICS_LEAD in text:
        text = text[:text.rindex(TOPICS_LEAD)] + "\n" + TOPICS_HINT
    body = esc(text)
    body = re.sub(r"\\\[(\d+)\\\]",
                  lambda m: f'<a class="cite" href="#{cite_id(turn, int(m.group(1)))}">[{m.group(1)}]</a>', body)
    body = body.replace("\n", "  \n")
    listing = render_source_list(ans, turn, origins)
    if listing:
        body += "\n\n" + listing
    if ans.notice:
        body += f"\n\n<small>{esc(ans.notice)}</small>"
    return body


def render_sources(ans: Answer, texts: dict[str, str], turn: int, origins: dict[int, Origin] | None = None) -> str:
    """The cards of the session's answer number ``turn``: each cited passage (named as in the answer's
    source line) in its paragraph with the cited sentence marked (one card for the citations of one
    paragraph, each [n] landing on it); place, bulletin, page and a failed
    check below; the file, column and the sentence's character offsets folded under 原文位置, for
    staff.  A refusal says so first (its nearest sentence, if cited, is a card like any other)."""
    origins = origins or {}
    head = ""
    if ans.refused:
        head = "<p><b>公报里没有能回答这个问题的内容。</b>" + (" 下面是公报里最接近的一句：" if ans.citations else "") + "</p>"
        if not ans.citations:
            return head + (f"<p>{TOPICS_HINT}</p>" if ans.topics else "")
    if not ans.citations:
        return "<p>没有引用。</p>"
    # citations of one paragraph share its card (找工会打啥电话: [1] and [2] are two sentences of one
    # paragraph, shown twice before), each sentence marked, each [n] landing on it
    paragraphs: dict[tuple, list] = {}
    for c in ans.citations:
        src = texts.get(c.source, "")
        ls = src.rfind("\n", 0, c.start) + 1
        le = src.find("\n", c.end)
        # a source whose text the page lacks has no paragraphs to share: a card per citation, as before
        paragraphs.setdefault((c.source, ls, len(src) if le < 0 else le, None if src else c.n), []).append(c)
    cards = []
    for (source, ls, le, _), cits in paragraphs.items():
        cits.sort(key=lambda c: c.start)
        first = min(cits, key=lambda c: c.n)
        o = origins.get(first.n)
        src = texts.get(source, "")
        body, at = [], ls
        for c in cits:
            if c.start < at:  # overlapping spans (never made by one answer): the later one is not marked again
                continue
            before = src[at:c.start]
            if at == ls and len(before) > 160:
                before = "…" + before[-160:]
            body.append(f"{html.escape(before)}<mark>{html.escape(src[c.start:c.end])}</mark>")
            at = c.end
        after = src[at:le]
        if len(after) > 160:
            after = after[:160] + "…"
        body.append(html.escape(after))
        column = next((x.column for x in ans.cases if x.citation == first.n), "") or (o.column if o else "")
        check = (' <span class="src-warn" title="引文未能与原文逐字核对">⚠ 未通过核对</span>'
                 if not all(c.verified for c in cits) else "")
        where = " · ".join(x for x in (html.escape(o.place) if o else "", html.escape(bulletin_name(source)),
                                       f"第 {first.page} 页" if first.page else "") if x)
        # for staff checking a citation: the file, the column and the cited sentences' offsets, folded away
        spans = "、".join(f"字符 {c.start}–{c.end}" for c in cits)
        loc = " · ".join(x for x in (f'<span class="src-file">{html.escape(_file_name(source))}</span>',
                                     html.escape(column),
                                     f'<span class="src-pos" title="被引句子在原文件中的字符位置">{spans}</span>')
                         if x)
        name = html.escape(article_name(first.title, passage=first.text))
        anchors = "".join(f'<span class="src-anchor" id="{cite_id(turn, c.n)}"></span>' for c in cits if c is not first)
        numbers = "".join(f"[{c.n}]" for c in sorted(cits, key=lambda c: c.n))
        cards.append(
            f'<div class="src" id="{cite_id(turn, first.n)}">{anchors}<div class="src-head">{numbers} {name}</div>'
            f"<p>{''.join(body)}</p>"
            f'<div class="src-meta">{where}{" ·" if where and check else ""}{check}</div>'
            f'<details class="src-loc"><summary>原文位置</summary>{loc}</details></div>')
    return head + "".join(cards)


BACK_TO_CHAT = '<a class="back" href="#chat">↑ 回到对话</a>'


def new_group(turn: int, question: str, cards: str) -> dict:
    """One answer's group for the sources panel's list (``add_group``): its number, question and cards."""
    return {"turn": _turn(turn), "question": question, "cards": cards}


def render_group(turn: int, question: str, cards: str, *, open: bool = True) -> str:
    """One answer's group in the sources panel, folded unless ``open``: headed by its question (escaped)
    and a link back to the chat (on a phone the panel is below it: a tapped [n] lands far down), then
    its cards.  A tap on the head folds or unfolds it; a tapped [n] unfolds its own (``PAGE_JS``)."""
    return (f'<details class="src-group" id="ans-{_turn(turn)}"{" open" if open else ""}><summary class="src-q">'
            f'<span class="src-q-text">第 {turn} 问：{html.escape(question)}</span>{BACK_TO_CHAT}</summary>'
            f"{cards}</details>")


def add_group(groups: list[dict], group: dict) -> list[dict]:
    """``group`` first, then the older groups, keeping the newest ``KEPT_SOURCES``."""
    return [group, *list(groups or [])][:KEPT_SOURCES]


def render_panel(groups: list[dict], *, pending: bool = False) -> str:
    """The sources panel: the session's groups, newest first, the newest ``OPEN_GROUPS`` open and the
    older ones folded to their question, so that it stays about one answer's cards tall however long
    the chat (``pending``: "正在找出处…" above them)."""
    body = (SOURCES_PENDING if pending else "") + "".join(
        render_group(g["turn"], g["question"], g["cards"], open=i < OPEN_GROUPS) for i, g in enumerate(groups or []))
    return body or SOURCES_EMPTY


ALL_HINT = "不选即全部"  # under each case filter: an empty filter keeps everything


def file_choices(sources: list[str]) -> list[tuple[str, str]]:
    """The bulletin file filter's (label, value) pairs: the file name without its folders (the full
    name when two folders hold the same name); the value stays the source the index knows."""
    names = [_file_name(s) for s in sources]
    seen = Counter(names)
    return [(name if seen[name] == 1 else s, s) for name, s in zip(names, sources)]


def highlight(text: str, terms: list[str]) -> str:
    out = html.escape(text)
    for t in sorted({t for t in terms if len(t) >= 2}, key=len, reverse=True):
        out = out.replace(html.escape(t), f"<mark>{html.escape(t)}</mark>")
    return out


def render_cases(cases, query: str) -> str:
    if not cases:
        return "<p>没有找到匹配的报道。换个说法试试，或去掉筛选条件。</p>"
    from .details import SYNONYMS
    from .tokens import tokenize

    terms = tokenize(query)
    terms += [x for t in list(terms) for x in SYNONYMS.get(t, ())]
    rows = []
    for i, c in enumerate(cases, 1):
        meta = " · ".join(html.escape(x) for x in (c.place, c.column) if x)
        rows.append(
            f'<div class="case"><div class="case-title">{i}. 《{html.escape(c.title)}》</div>'
            f"<div>{meta}</div><p>{highlight(c.sentence, terms)}</p>"
            f'<div class="src-meta">{html.escape(_file_name(c.source))} · 字符 {c.start}–{c.end}</div></div>')
    return f"<p>找到 {len(cases)} 篇报道：</p>" + "".join(rows)
