"""Readers: the text of PDF, Word (.docx) and web-page (.html/.htm) bulletins, laid out as a ``.txt``
bulletin is, so that the same article parser reads all of them.

The layout every reader produces: one paragraph a line, a blank line between paragraphs, three blank
lines between PDF pages (the parser's page break, where a paragraph cut by the page is re-joined when
the next page carries on its sentence).  A paragraph a PDF prints over several lines is one line here;
a paragraph cut by the end of a column or page stays cut, as in a ``.txt`` bulletin, and the parser
repairs it.  Radical code points (⼯ U+2F2F, ⻋ U+2ECB …, ``qa/data/radicals.json``) are mapped to the
ideographs a reader sees, ligatures (⸺, ﬁ) to their dashes and letters, and the text is NFC-normalised,
before anything else sees it.

The text made here is what the index stores and what citation offsets index into; a PDF's text also
records where each page starts (``Extracted.pages``), so a citation can say which page it is on.

PDF: pdfplumber's characters with their positions (not its ``extract_text``, which reads two columns
line by line across both; see README "Readers").  Lines are cut into pieces at wide gaps and ordered by
a recursive XY cut (the widest white gap first, down a column gutter or across the page), then joined
into paragraphs: a line carries on the one above when it is close below it, in the same column, in the
same type size, not indented, and the line above runs to within 2.5 characters of the column's right
edge (CJK line breaking leaves up to two characters free before a bracket or a figure).  Page numbers
and running heads or feet (a line in the top or bottom 8% of the page that recurs on half the pages)
are left out: they would read as titles and split a paragraph cut by the page.  A PDF without a
text layer (scanned), one that needs a password, and one that cannot be parsed raise ``SourceError``
saying so; the caller skips the file with a warning.
"""

from __future__ import annotations

import functools
import logging
import re
import statistics
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import SourceError
from .wordlists import table

PAGE_BREAK = "\n\n\n\n"  # three blank lines: the article parser's page break
PARAGRAPH_BREAK = "\n\n"
MIN_TEXT_CHARS = 5  # fewer visible characters in a whole PDF than this: no text layer (a scan)


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: tuple[int, ...] = ()  # PDF: the offset in ``text`` where each page starts (page n at pages[n-1])
    title: str = ""  # web pages: the page title (also the text's first line)
    notes: tuple[str, ...] = ()  # what the reader left out, for a warning (e.g. pages without text)


@functools.lru_cache(maxsize=1)
def _radicals() -> dict[int, str]:
    t = table("radicals")
    return {ord(k): v for k, v in {**t["map"], **t["ligatures"]}.items()}


def normalise(text: str) -> str:
    """Radical code points → their ideographs and ligatures (⸺, ﬁ) → the dashes and letters, then NFC
    (compatibility ideographs such as U+F900 become the unified ones).  Every reader's text goes
    through here first."""
    return unicodedata.normalize("NFC", text.translate(_radicals()))


def _layout(paragraphs: list[str]) -> str:
    return PARAGRAPH_BREAK.join(p for p in (re.sub(r"\s+", " ", x).strip() for x in paragraphs) if p)


# ---------------------------------------------------------------- PDF

@dataclass
class _Piece:
    """Characters of one printed line that sit together (a line of one column)."""

    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    text: str
    column: tuple = ()  # (x0, x1, id) of the column the XY cut put it in


def _pieces(chars: list[dict]) -> list[_Piece]:
    """Rows of characters (by vertical position), cut where the horizontal gap is wider than
    1.5 characters (a column gutter); a smaller gap of ≥ 0.25 character becomes one space."""
    chars = sorted((c for c in chars if c["text"].strip()), key=lambda c: (c["top"], c["x0"]))
    rows: list[list[dict]] = []
    for c in chars:
        size = max(c["size"], 1.0)
        if rows and abs(c["top"] - rows[-1][0]["top"]) < 0.4 * size:
            rows[-1].append(c)
        else:
            rows.append([c])
    out: list[_Piece] = []
    for row in rows:
        row.sort(key=lambda c: c["x0"])
        size = statistics.median(max(c["size"], 1.0) for c in row)
        cur: list[dict] = [row[0]]
        for c in row[1:] + [None]:
            if c is not None and c["x0"] - cur[-1]["x1"] <= 1.5 * size:
                cur.append(c)
                continue
            text = cur[0]["text"]
            for a, b in zip(cur, cur[1:]):
                text += (" " if b["x0"] - a["x1"] >= 0.25 * size else "") + b["text"]
            out.append(_Piece(min(x["x0"] for x in cur), max(x["x1"] for x in cur), min(x["top"] for x in cur),
                              max(x["bottom"] for x in cur), statistics.median(x["size"] for x in cur), text))
            if c is not None:
                cur = [c]
    return out


def _gaps(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The white gaps between merged intervals: (start of gap, end of gap)."""
    out, end = [], None
    for a, b in sorted(intervals):
        if end is not None and a > end:
            out.append((end, a))
        end = b if end is None else max(end, b)
    return out


def _xy_order(pieces: list[_Piece], column: tuple, depth: int = 0) -> list[_Piece]:
    """Reading order by a recursive XY cut: cut at the widest white gap of the region, down (a column
    gutter, at least one character wide, left column first) or across (top part first); a region
    with no gap is read top to bottom, and so is one 300 cuts deep (a page of hundreds of tiny
    lines).  Each piece remembers the column it was read in."""
    if len(pieces) <= 1 or depth > 300:
        for p in pieces:
            p.column = column
        return pieces
    size = statistics.median(p.size for p in pieces)
    down = [g for g in _gaps([(p.x0, p.x1) for p in pieces]) if g[1] - g[0] >= size]
    across = _gaps([(p.top, p.bottom) for p in pieces])
    best_down = max(down, key=lambda g: g[1] - g[0], default=None)
    best_across = max(across, key=lambda g: g[1] - g[0], default=None)  # the first of equals: the topmost
    if best_down is not None and (best_across is None or best_down[1] - best_down[0] >= best_across[1] - best_across[0]):
        cut = (best_down[0] + best_down[1]) / 2
        left = [p for p in pieces if p.x1 <= cut]
        right = [p for p in pieces if p.x0 >= cut]
        return (_xy_order(left, (min(p.x0 for p in left), max(p.x1 for p in left), (*column[2:], "l")), depth + 1)
                + _xy_order(right, (min(p.x0 for p in right), max(p.x1 for p in right), (*column[2:], "r")), depth + 1))
    if best_across is not None:
        cut = (best_across[0] + best_across[1]) / 2
        return (_xy_order([p for p in pieces if p.bottom <= cut], column, depth + 1)
                + _xy_order([p for p in pieces if p.top >= cut], column, depth + 1))
    for p in pieces:
        p.column = column
    return sorted(pieces, key=lambda p: (p.top, p.x0))


def _carries_on(a: _Piece, b: _Piece) -> bool:
    """Does line ``b`` carry on the paragraph of line ``a`` (the line read just before it)?"""
    if a.column != b.column or abs(a.size - b.size) > 0.15 * a.size:
        return False
    x0, x1 = a.column[0], a.column[1]
    line_below = 0 <= b.top - a.bottom < 0.9 * a.size and b.top > a.top
    return line_below and b.x0 - x0 < 0.8 * b.size and x1 - a.x1 < 2.5 * a.size


_RE_PAGE_NUMBER = re.compile(r"^[-—–·\s]*(第\s*)?\d{1,4}(\s*[页版])?[-—–·\s]*$|^\d{1,4}\s*/\s*\d{1,4}$")
MARGIN = 0.08  # the top and bottom 8% of a page: where running heads, feet and page numbers sit


def _running_heads(pages: list[tuple[list[_Piece], float]]) -> set[int]:
    """Pieces that are page furniture: in the top or bottom margin band and either a page number
    ("- 3 -", "第3版", "3/8") or a line that recurs (digits aside) there on at least half the pages
    (and two): the bulletin's name and issue, a running foot.  They would otherwise read as titles
    and split a paragraph cut by the page."""
    def key(p: _Piece) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s", "", p.text))

    def in_margin(p: _Piece, height: float) -> bool:
        return p.bottom <= MARGIN * height or p.top >= (1 - MARGIN) * height

    seen: dict[str, int] = {}
    for pieces, height in pages:
        for k in {key(p) for p in pieces if in_margin(p, height)}:
            seen[k] = seen.get(k, 0) + 1
    need = max(2, len(pages) / 2)
    return {id(p) for pieces, height in pages for p in pieces
            if in_margin(p, height) and (_RE_PAGE_NUMBER.match(p.text) or seen[key(p)] >= need)}


def _paragraphs(pieces: list[_Piece]) -> list[str]:
    """One page's pieces in reading order, joined into paragraphs."""
    if not pieces:
        return []
    ordered = _xy_order(pieces, (min(p.x0 for p in pieces), max(p.x1 for p in pieces), "page"))
    paragraphs: list[str] = []
    prev = None
    for p in ordered:
        if prev is not None and _carries_on(prev, p):
            sep = " " if re.match(r"[A-Za-z0-9]", p.text) and re.search(r"[A-Za-z0-9,.;:]$", paragraphs[-1]) else ""
            paragraphs[-1] += sep + p.text
        else:
            paragraphs.append(p.text)
        prev = p
    return paragraphs


def read_pdf(path: Path) -> Extracted:
    """The text layer of a PDF, laid out as a ``.txt`` bulletin, with each page's start offset."""
    import pdfplumber  # lazy: pdfminer is slow to import
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # font warnings on every page otherwise
    name = path.name
    pages: list[tuple[list[_Piece], float]] = []
    cids = 0
    try:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                chars = page.chars
                cids += sum(1 for c in chars if c["text"].startswith("(cid:"))
                pages.append((_pieces([c for c in chars if not c["text"].startswith("(cid:")]), float(page.height)))
    except Exception as e:  # pdfminer raises many kinds for damaged files; each one means "cannot read it"
        inner = e.args[0] if e.args and isinstance(e.args[0], Exception) else e  # pdfplumber wraps pdfminer's
        if isinstance(inner, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise SourceError(f"{name}: encrypted PDF (a password is needed to read it), skipped") from None
        raise SourceError(f"{name}: not a readable PDF ({type(inner).__name__}: {str(inner)[:80] or 'parse error'}), "
                          "skipped") from None
    furniture = _running_heads(pages)
    pages_text = [_paragraphs([p for p in pieces if id(p) not in furniture]) for pieces, _ in pages]
    blank = [n for n, paras in enumerate(pages_text, 1) if not paras]
    visible = sum(len(re.sub(r"\s", "", x)) for paras in pages_text for x in paras)
    if visible < MIN_TEXT_CHARS:
        why = (f"its fonts have no Unicode map ({cids} unreadable glyphs)" if cids
               else "no text layer, only images (a scan?); OCR it first (README: Readers)")
        raise SourceError(f"{name}: {len(pages_text)} page(s) but {why}, skipped")
    text, starts = "", []
    for paras in pages_text:
        if text:
            text += PAGE_BREAK
        starts.append(len(text))
        text += normalise(_layout(paras))
    notes = ()
    if blank:
        notes = (f"{name}: page(s) {', '.join(map(str, blank))} have no text layer (images only) and are not indexed",)
    return Extracted(text, tuple(starts), notes=notes)


# ---------------------------------------------------------------- Word

def _cell_text(cell) -> str:
    return " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())


def _table_rows(tbl) -> list[str]:
    """Each row as one sentence: "header：value，header：value。" when the first row is a header
    (every cell filled and no cell longer than 12 characters), else the cells joined by "，"."""
    rows = []
    for row in tbl.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell repeats in every row position it covers
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(_cell_text(cell))
        rows.append(cells)
    if not rows:
        return []
    head = rows[0]
    header = len(rows) > 1 and all(head) and all(len(h) <= 12 for h in head)
    out = []
    for cells in rows[1:] if header else rows:
        parts = [f"{h}：{v}" if header and h and v else v for h, v in zip(head if header else cells, cells)]
        line = "，".join(p for p in parts if p)
        if line:
            out.append(line if line[-1] in "。！？；;.!?" else line + "。")
    return out


def read_docx(path: Path) -> Extracted:
    """Paragraphs and tables of a .docx in document order, one paragraph (or table row) a line."""
    import zipfile

    try:
        import docx  # lazy: python-docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        d = docx.Document(str(path))
        paras: list[str] = []
        for block in d.element.body.iterchildren():
            tag = block.tag.rsplit("}", 1)[-1]
            if tag == "p":
                paras.append(Paragraph(block, d).text)
            elif tag == "tbl":
                paras.extend(_table_rows(Table(block, d)))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise SourceError(f"{path.name}: not a readable Word .docx file ({type(e).__name__}: {str(e)[:80]}), skipped") from None
    except Exception as e:  # lxml and python-docx errors on damaged parts
        raise SourceError(f"{path.name}: not a readable Word .docx file ({type(e).__name__}), skipped") from None
    text = normalise(_layout(paras))
    if not text.strip():
        raise SourceError(f"{path.name}: no text in the document, skipped")
    return Extracted(text)


# ---------------------------------------------------------------- web pages

def read_html(path: Path) -> Extracted:
    """The main text of a web page (trafilatura: no menus, footers or comments), its title first."""
    from .sources import decode

    try:
        data = path.read_bytes()
    except OSError as e:
        raise SourceError(f"{path.name}: cannot read ({e.strerror}), skipped") from None
    html = decode(data, path.name)
    import trafilatura  # lazy: lxml, dateparser …

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    doc = trafilatura.bare_extraction(html, include_comments=False, include_tables=True, with_metadata=True,
                                      favor_recall=True, deduplicate=False)
    body = (getattr(doc, "text", None) or "") if doc is not None else ""
    title = (getattr(doc, "title", None) or "").strip() if doc is not None else ""
    if not body.strip():
        raise SourceError(f"{path.name}: no main text found in the page, skipped")
    paras = [x for x in body.splitlines() if x.strip()]
    title = normalise(re.sub(r"\s+", " ", title))
    if title and (not paras or normalise(paras[0]).strip() != title):
        paras.insert(0, title)
    return Extracted(normalise(_layout(paras)), title=title)


READERS = {".pdf": read_pdf, ".docx": read_docx, ".html": read_html, ".htm": read_html}
