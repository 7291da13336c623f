"""Articles: split a bulletin's text into articles and repair paragraphs cut by page layout.

A bulletin is a flat sequence of lines: column markers (【主席之声】, 新闻速递 …), titles and
subtitles, bylines and photo credits, 本报讯/本刊讯 leads, body paragraphs, 小编说 comments and
photo captions.  Page layout cuts paragraphs mid-sentence ("…与县人民" / "医院签订…"); such a
paragraph is joined with the next one when that one carries on the sentence.

Everything keeps offsets into the source text: a ``Paragraph`` has the ``spans`` it was joined
from, so ``text == "".join(source[s:e] for s, e in spans)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

Span = tuple[int, int]

TERMINAL = set("。！？!?…；;")
CLOSERS = "”’」』)）》】\"'"
SECTION_MARKERS = {"新闻速递", "图说新闻", "新闻快递", "工会动态", "基层动态", "图片新闻"}
LABELS = {"阅读提示", "编者按", "相关链接", "延伸阅读", "记者手记"}
SUMMARY_LABELS = {"阅读提示", "编者按"}  # what follows sums up the report under the title
_CJK = r"\u4e00-\u9fff"
_NAME = rf"[{_CJK}]{{2,3}}"
_CREDIT_WORD = r"(?:摄影|摄|图/文|文/图|供图|图)"
_RE_COLUMN = re.compile(r"【[^】]{2,10}】")
_RE_LEAD = re.compile(r"^(本报讯|本刊讯)")
_RE_NAMES = re.compile(rf"^{_NAME}(?:\s+{_NAME})*(?:\s+{_CREDIT_WORD})?$")
_RE_REPORTERS = re.compile(r"(本报|本刊)?(记者|通讯员|特约通讯员)")
_RE_ORG_BYLINE = re.compile(rf"^[{_CJK}、·]{{2,30}}(会|主席|书记|室|部|局|处|公司|中心|组长|经理|委员|院|校)\s+{_NAME}$")
_RE_INLINE_CREDIT = re.compile(
    rf"(?<=[。！？”)）])\s*(?:(?:本报|本刊)(?:记者|通讯员)\s*)?{_NAME}(?:\s+{_NAME})*\s*{_CREDIT_WORD}$")
_RE_SOURCE_END = re.compile(r"来源[:：]\s*《[^》]{1,30}》$")
_RE_PHOTO_WORD = re.compile(_CREDIT_WORD + "$")  # a credit for a photo (金晖 摄), not a reporter's byline


class Spanned:
    """Mixin for records whose ``spans`` are their pieces in the source text."""

    spans: tuple[Span, ...]

    @property
    def start(self) -> int:
        return self.spans[0][0]

    @property
    def end(self) -> int:
        return self.spans[-1][1]


@dataclass(frozen=True)
class Paragraph(Spanned):
    text: str
    spans: tuple[Span, ...]
    role: str = "body"  # body | heading | lead | editor | caption


@dataclass(frozen=True)
class Article:
    source: str
    n: int  # position within the source, from 0
    title: str
    column: str
    byline: str
    lead: str  # 本报讯 / 本刊讯 / ""
    paragraphs: tuple[Paragraph, ...]
    title_spans: tuple[Span, ...] = ()

    @property
    def start(self) -> int:
        firsts = [s[0][0] for s in (self.title_spans, *(p.spans for p in self.paragraphs)) if s]
        return min(firsts)

    @property
    def end(self) -> int:
        lasts = [s[-1][1] for s in (self.title_spans, *(p.spans for p in self.paragraphs)) if s]
        return max(lasts)

    @property
    def body(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)

    @property
    def display_title(self) -> str:
        return self.title or untitled_label(self.paragraphs[0].text if self.paragraphs else "")


UNTITLED = "（无题）"


def untitled_label(first_text: str) -> str:
    """How an untitled fragment is named: its first words, marked （无题）."""
    head = re.split(r"[。！？；]", first_text, maxsplit=1)[0]
    return f"{UNTITLED}{head[:20]}{'…' if len(head) > 20 else ''}"


def is_untitled(title: str) -> bool:
    """A label made by ``untitled_label``: words cut from a fragment, not a subject to ask about."""
    return title.startswith(UNTITLED)


# ---------------------------------------------------------------- line classification

def ends_sentence(text: str) -> bool:
    t = text.rstrip()
    if _RE_SOURCE_END.search(t) or _RE_INLINE_CREDIT.search(t):
        return True
    stripped = t.rstrip(CLOSERS)
    return bool(stripped) and (stripped[-1] in TERMINAL or (stripped != t and t[-1] in "”’」』" and stripped[-1] in TERMINAL))


def is_credit(text: str) -> bool:
    """Bylines and photo credits: 'X县总工会副主席 万月', '朱建良 王娟', '本报记者 王鑫', '金晖 摄',
    '本报通讯员 沈岳 摄'."""
    if len(text) > 40 or any(ch in text for ch in "，,。:：“”《》"):
        return False
    return bool(_RE_NAMES.match(text) or _RE_ORG_BYLINE.match(text)
                or (_RE_REPORTERS.search(text) and re.search(rf"{_NAME}(?:\s+{_CREDIT_WORD})?$", text)))


def classify(text: str) -> str:
    """One of column, section, label, lead, editor, credit, title, body."""
    if _RE_COLUMN.fullmatch(text):
        return "column"
    if text in SECTION_MARKERS:
        return "section"
    if text in LABELS:
        return "label"
    if _RE_LEAD.match(text):
        return "lead"
    if text.startswith("小编说"):
        return "editor"
    if is_credit(text):
        return "credit"
    if len(text) <= 45 and "。" not in text and not ends_sentence(text) and text[-1] not in ",，、:：;；":
        return "title"
    return "body"


# ---------------------------------------------------------------- paragraphs and repair

@dataclass
class _Line:
    text: str
    spans: list[Span]
    kind: str
    gap: int  # newlines between the previous line and this one
    broken: bool = False  # ends mid-sentence and could not be joined


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    prev_end = 0
    for m in re.finditer(r"[^\n]+", text):
        raw = m.group()
        lead = len(raw) - len(raw.lstrip(" \t\r\u3000\ufeff"))
        content = raw.strip(" \t\r\u3000\ufeff")
        if not content:
            continue
        s = m.start() + lead
        e = s + len(content)
        out.append(_Line(content, [(s, e)], classify(content), text.count("\n", prev_end, s)))
        prev_end = e
    return out


def paragraphs_of(text: str) -> tuple["Paragraph", ...]:
    """The paragraphs of a text that is one article (a JSON Lines record): its lines, joined where the
    layout broke a sentence (``repair``), with their spans in ``text``."""
    return tuple(Paragraph(x.text, tuple(x.spans)) for x in repair(_lines(text)))


_JOINABLE_HEAD = {"body", "lead", "editor"}


# a union named by its level only (区总工会, 市总): the report named which one before
_RE_BARE_UNION = re.compile(r"^([省市县区镇])总(?:工会)?")
_RE_FRESH_START = re.compile(r"^(日前|近日|近期|今年|去年|\d{1,2}月\d{1,2}日|\d{4}年)")


def _continues(prev: _Line, line: _Line, after: _Line | None) -> bool:
    """Does ``line`` carry on the sentence that ``prev`` left unfinished?

    Within a page a cut paragraph is followed by its rest after one blank line.  After a page
    break (two or more blank lines) only when the next block does not look like a fresh item:
    a dated opener (日前, 3月20日…) or a paragraph followed by a photo credit.
    """
    if prev.kind not in _JOINABLE_HEAD or line.kind != "body" or ends_sentence(prev.text):
        return False
    if line.gap <= 2:
        return True
    return not _photo_credit(after) and not _RE_FRESH_START.match(line.text)


def _photo_credit(line: _Line | None) -> bool:
    """``line`` is a photo credit (金晖 摄, 本报通讯员 沈岳 摄影): the paragraph before it is a caption."""
    return line is not None and line.kind == "credit" and _RE_PHOTO_WORD.search(line.text) is not None


def repair(lines: list[_Line]) -> list[_Line]:
    """Join a paragraph that stops mid-sentence with the next one when that one continues it."""
    out: list[_Line] = []
    for i, line in enumerate(lines):
        prev = out[-1] if out else None
        if prev is not None and _continues(prev, line, lines[i + 1] if i + 1 < len(lines) else None):
            prev.text += line.text
            prev.spans += line.spans
            prev.kind = classify(prev.text) if prev.kind == "body" else prev.kind
            continue
        if prev is not None and prev.kind in _JOINABLE_HEAD and not ends_sentence(prev.text):
            prev.broken = True
        out.append(line)
    if out and out[-1].kind in _JOINABLE_HEAD and not ends_sentence(out[-1].text):
        out[-1].broken = True
    return out


# ---------------------------------------------------------------- articles

@dataclass
class _Draft:
    title: str = ""
    title_spans: list[Span] = field(default_factory=list)
    column: str = ""
    byline: str = ""
    lead: str = ""
    paragraphs: list[Paragraph] = field(default_factory=list)
    ended: bool = False
    closed: bool = False  # a byline or credit came after the body: the report is complete
    title_lines: list = field(default_factory=list)
    marked: bool = False  # opened by a column marker (【主席之声】): a piece of its own
    head_byline: bool = False  # a reporters' byline printed before its body (本报记者 X 本报通讯员 Y)
    summary: bool = False  # its title is followed by a 阅读提示 / 编者按 summary


def _title_from_run(run: list[_Line]) -> tuple[str, list[_Line], list[_Line]]:
    """A run of title-like lines: drop a leading 'kicker —— / title' pair that belongs to another
    article when more lines follow it; join the rest with a space."""
    kept = run
    for i, line in enumerate(run[:-1]):
        if line.text.endswith(("——", "—")) and i + 2 < len(run):
            kept = run[i + 2:]
            break
    dropped = run[: len(run) - len(kept)]
    return " ".join(x.text for x in kept), kept, dropped


def split_articles(text: str, source: str = "") -> list[Article]:
    """Parse one bulletin into articles (see the module docstring for the rules)."""
    lines = repair(_lines(text))
    drafts: list[_Draft] = []
    cur: _Draft | None = None
    one_shot_column = ""  # 【主席之声】 applies to the next article only
    section = ""  # 新闻速递 / 图说新闻 apply until the next marker

    def start(title: str = "", run: list[_Line] | None = None) -> _Draft:
        nonlocal cur, one_shot_column
        run = run or []
        cur = _Draft(title=title, title_spans=[s for x in run for s in x.spans], column=one_shot_column or section,
                     title_lines=run, marked=bool(one_shot_column))
        one_shot_column = ""
        drafts.append(cur)
        return cur

    def add(line: _Line, role: str) -> None:
        target = cur if cur is not None and not cur.ended else start()
        target.paragraphs.append(Paragraph(line.text, tuple(line.spans), role))

    i = 0
    while i < len(lines):
        line = lines[i]
        k = line.kind
        if k in ("column", "section"):
            if cur is not None:
                cur.ended = True
            if k == "column":
                one_shot_column = line.text
            else:
                section, one_shot_column = line.text, ""
            i += 1
            continue
        if k == "label":
            if line.text in SUMMARY_LABELS and cur is not None and cur.title and not cur.paragraphs:
                cur.summary = True
            i += 1
            continue
        if k == "title":
            j = i
            while j < len(lines) and lines[j].kind == "title":
                j += 1
            run = lines[i:j]
            nxt = lines[j].kind if j < len(lines) else None
            if nxt == "label":
                nxt = lines[j + 1].kind if j + 1 < len(lines) else None
            prev = lines[i - 1] if i else None
            new_article = (
                cur is None or cur.ended or len(run) >= 2 or nxt in ("lead", "credit", None)
                or (j < len(lines) and _RE_INLINE_CREDIT.search(lines[j].text) is not None)
                or (prev is not None and prev.broken)
            )
            if new_article:
                title, kept, dropped = _title_from_run(run)
                if dropped:  # a heading that belongs to an article printed elsewhere
                    start(_title_from_run(dropped)[0], dropped).ended = True
                start(title, kept)
            else:
                for line_ in run:
                    add(line_, "heading")
            i = j
            continue
        if k == "credit":
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            if cur is not None and not cur.ended and not cur.paragraphs and not cur.byline:
                cur.byline = line.text
            elif _heads_body(line, nxt):
                start().byline = line.text  # a feature's byline, printed above its body
                cur.head_byline = True
            elif cur is not None and not cur.ended:
                cur.byline = f"{cur.byline} {line.text}".strip() if not cur.byline else cur.byline
                cur.ended = cur.closed = True
            i += 1
            continue
        if k == "lead":
            if cur is None or cur.ended or cur.paragraphs:
                start()
            cur.lead = _RE_LEAD.match(line.text).group(1)
            add(line, "lead")
        elif k == "editor":
            add(line, "editor")
            cur.ended = True
        else:
            caption = _RE_INLINE_CREDIT.search(line.text) is not None
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            if (caption or _photo_credit(nxt)) and cur is not None and cur.paragraphs and line.gap >= 3:
                cur.ended = True  # a captioned photo after a page break is its own item
            add(line, "caption" if caption else "body")
            if caption or _RE_SOURCE_END.search(line.text):
                cur.ended = True
        i += 1

    for d in drafts:  # a heading printed without its body is kept as heading paragraphs
        if not d.paragraphs:
            d.paragraphs = [Paragraph(x.text, tuple(x.spans), "heading") for x in d.title_lines]
    return [
        Article(source, n, d.title, d.column, d.byline, d.lead, tuple(d.paragraphs), tuple(d.title_spans))
        for n, d in enumerate(_reattach([x for x in drafts if x.paragraphs]))
    ]


def starts_mid_sentence(text: str) -> bool:
    """A block that cannot open a report: it starts with punctuation, or closes a quote or book
    title it never opened ("1+N”职工健康服务体系的实施意见》,实现…")."""
    t = text.lstrip()
    if not t:
        return False
    if t[0] in "，,、。；;：:！？!?" or t[0] in CLOSERS:
        return True
    head = re.split(r"[。！？]", t, maxsplit=1)[0]
    for op, cl in (("“", "”"), ("《", "》"), ("（", "）"), ("(", ")"), ("「", "」")):
        depth = 0
        for ch in head:
            depth += (ch == op) - (ch == cl)
            if depth < 0:
                return True
    return False


def _reattach(drafts: list[_Draft], reach: int = 6) -> list[_Draft]:
    """Page layout prints the rest of a report away from its start ("转接"):

    - an untitled block that starts mid-sentence joins the nearest earlier titled report still open
      (no closing byline) among the last ``reach`` items;
    - an untitled block that could open a sentence but not a report (no 本报讯, no date or number
      first, no quote: 职业中专的沟通协作,深化产教融合…) joins the nearest titled report within
      ``reach`` items, before or after it, whose last paragraph stops mid-sentence (…加强与兴化)
      and that no other block continues: it is that report's rest, printed on another page.

    - a titled block with no lead or byline of its own whose first words name its union without
      saying which (区总工会为了能让更多的司机…, under the subheading 暖心开展高品质服务) joins the
      nearest earlier titled report still open within ``reach`` items that names a union of that
      level (徐州市贾汪区总工会): no report opens without saying whose union it is; the subheading
      becomes a heading paragraph.

    The joined paragraphs keep their own source spans (``qa.chunks`` cuts passages so that each
    one's spans run forward)."""
    out: list[_Draft] = []
    for d in drafts:
        if not d.title and not d.lead and starts_mid_sentence(d.paragraphs[0].text):
            host = next((h for h in reversed(out[-reach:]) if h.title and not h.closed), None)
            if host is not None:
                host.paragraphs.extend(d.paragraphs)
                host.byline = host.byline or d.byline
                host.closed = d.closed
                continue
        level = _RE_BARE_UNION.match(d.paragraphs[0].text) if d.title and not (d.lead or d.byline or d.marked) else None
        if level:
            named = re.compile(rf"[{_CJK}]{{2,}}{level.group(1)}总工会")
            host = next((h for h in reversed(out[-reach:]) if h.title and not h.closed
                         and named.search(f"{h.title} {h.byline} {h.paragraphs[0].text}")), None)
            if host is not None:
                host.paragraphs.extend(Paragraph(x.text, tuple(x.spans), "heading") for x in d.title_lines)
                host.paragraphs.extend(d.paragraphs)
                host.closed = d.closed
                continue
        out.append(d)
    continued: set[int] = set()
    for i, d in enumerate(out):
        if d.title or d.lead or d.byline or not _opens_no_report(d.paragraphs[0].text):
            continue
        hosts = [j for j in range(max(0, i - reach), min(len(out), i + reach + 1))
                 if j != i and j not in continued and out[j].title and not out[j].closed
                 and out[j].paragraphs[-1].role == "body" and not ends_sentence(out[j].paragraphs[-1].text)]
        if hosts:
            j = min(hosts, key=lambda j: abs(j - i))
            continued.add(j)
            out[j].paragraphs.extend(d.paragraphs)
            d.paragraphs = []
    return _adopt_bodies([d for d in out if d.paragraphs])


def _heads_body(line: _Line, nxt: _Line | None) -> bool:
    """A reporters' byline (本报记者 王鑫 本报通讯员 钟晓敏, no 摄) directly above a body line that
    opens a report (日前…, 20余名网约车驾驶员…): a feature prints its byline above its body, so the
    byline opens that body rather than closing the report before it."""
    return (_RE_REPORTERS.search(line.text) is not None and not _RE_PHOTO_WORD.search(line.text)
            and nxt is not None and nxt.kind == "body" and not _opens_no_report(nxt.text))


def _adopt_bodies(drafts: list[_Draft]) -> list[_Draft]:
    """A feature's title (and its 阅读提示 summary) printed on one page and its body, under its own
    byline, on another: the body is an untitled block with a byline above it, and the title a
    block with no body of its own (its heading lines only), or with its summary followed straight
    by the rest of a cut body (…这些电子阅读器来自铁 / 岭市总打造的流动电子职工书屋…). Such a body
    joins the nearest such title, with no byline or 本报讯 lead of its own, whose first two
    characters (its place: 益阳, 铁岭) the body uses: after the summary, or in place of the
    heading lines.  The blocks right after the body that are its sections (``_is_section_of``)
    join it too."""
    out = list(drafts)
    for body in [d for d in drafts if d.head_byline and not d.title and not d.lead]:
        text = "".join(p.text for p in body.paragraphs)
        i = next(j for j, d in enumerate(out) if d is body)  # drafts compare by value: find this one
        heads = [j for j, h in enumerate(out)
                 if h.title and not h.byline and not h.lead and not h.marked and len(h.title) >= 2
                 and h.title[:2] in text and (h.summary or all(p.role == "heading" for p in h.paragraphs))]
        if not heads:
            continue
        head = out[min(heads, key=lambda j: abs(j - i))]
        kept = head.paragraphs[:1] if head.summary else []
        rest = head.paragraphs[1:] if head.summary else []
        # the body's next sections, under subheadings that look like titles (由点到面促破局) and
        # open on the feature's place (建立益阳市网约车行业工会的探索…)
        sections = []
        for d in out[i + 1:]:
            if not _is_section_of(d, head.title[:2]):
                break
            sections += [*(Paragraph(x.text, tuple(x.spans), "heading") for x in d.title_lines), *d.paragraphs]
            d.paragraphs = []
        head.paragraphs = [*kept, *body.paragraphs, *sections, *rest]
        head.byline, head.closed, head.head_byline = body.byline, head.closed or body.closed, True
        body.paragraphs = []
        out = [d for d in out if d.paragraphs]
    return out


def _is_section_of(d: _Draft, place: str) -> bool:
    """A block under a short title with no lead, byline or column of its own whose first paragraph
    names ``place``: a subheading of the feature about that place, not a report."""
    return (bool(d.title) and len(d.title) <= 12 and not (d.lead or d.byline or d.marked or d.head_byline)
            and bool(d.paragraphs) and d.paragraphs[0].role == "body" and place in d.paragraphs[0].text)


def _opens_no_report(text: str) -> bool:
    """A block that carries on a sentence cut by the layout rather than opening a report: it starts
    with a short clause (后,蹲点工作组…) or a plain word, not a date, 日前/近日, a number (20余名网约车
    驾驶员比理论… opens a feature) or a quotation."""
    t = text.lstrip()
    if not t or _RE_FRESH_START.match(t) or t[0].isdigit() or t[0] in "“\"「『《【" or _RE_LEAD.match(t):
        return False
    return True
