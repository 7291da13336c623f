"""Compare PDF text extraction for Chinese reading order on two-column pages (README "Readers").

Prints page 1 of a seed bulletin with headless Chromium in two columns, twice: once with the columns
in document order (the PDF draws the left column first) and once with the right column first in the
HTML, placed on the right by CSS grid (the PDF draws it first: drawing order is not reading order).
Each page is read by pdfplumber's ``extract_text`` (default and ``use_text_flow``), pypdf's
``extract_text`` and ``qa.readers.read_pdf``; the score is how many of the page's paragraphs come out
whole and in order (whitespace ignored, radicals mapped), and
how many lines the text has (a paragraph a line is what the article parser reads).  Run:
  python scripts/compare_pdf_readers.py [seeds/000_79df250fcb6385bf.txt]
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.readers import normalise, read_pdf  # noqa: E402

CSS = """@page { size: A4; margin: 15mm; }
body { font-family: "Noto Serif CJK SC", serif; font-size: 10.5pt; line-height: 1.5; margin: 0; }
p { margin: 0 0 0.6em 0; text-indent: 2em; }
.flow { column-count: 2; column-gap: 8mm; }
.grid { display: grid; grid-template-columns: 1fr 1fr; column-gap: 8mm; }
.grid .right { grid-column: 2; grid-row: 1; } .grid .left { grid-column: 1; grid-row: 1; }"""


def paragraphs(text: str, n: int) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()][:n]


def page_html(paras: list[str], swapped: bool) -> str:
    ps = [f"<p>{html.escape(p)}</p>" for p in paras]
    if not swapped:
        body = f'<div class="flow">{"".join(ps)}</div>'
    else:
        half = len(ps) // 2
        body = (f'<div class="grid"><div class="right">{"".join(ps[half:])}</div>'
                f'<div class="left">{"".join(ps[:half])}</div></div>')
    return f'<!doctype html><html><head><meta charset="utf-8"><style>{CSS}</style></head><body>{body}</body></html>'


def score(extracted: str, paras: list[str]) -> tuple[int, bool]:
    """(paragraphs found whole, all of them in order)."""
    flat = re.sub(r"\s", "", normalise(extracted))
    found, pos, ordered = 0, 0, True
    for p in paras:
        q = re.sub(r"\s", "", p)
        i = flat.find(q)
        if i >= 0:
            found += 1
            ordered &= i >= pos
            pos = i
        else:
            ordered = False
    return found, ordered


def main() -> None:
    import logging

    import pdfplumber
    import pypdf

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    seed = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "seeds" / "000_79df250fcb6385bf.txt")
    paras = paragraphs(seed.read_text(encoding="utf-8"), 10)
    with tempfile.TemporaryDirectory() as tmp:
        for swapped in (False, True):
            src, pdf = Path(tmp) / "page.html", Path(tmp) / f"page-{swapped}.pdf"
            src.write_text(page_html(paras, swapped), encoding="utf-8")
            subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                            f"--print-to-pdf={pdf}", src.as_uri()], check=True, capture_output=True, timeout=120)
            with pdfplumber.open(pdf) as doc:
                page = doc.pages[0]
                results = {"pdfplumber extract_text()": page.extract_text(),
                           "pdfplumber extract_text(use_text_flow=True)": page.extract_text(use_text_flow=True)}
            results["pypdf extract_text()"] = pypdf.PdfReader(pdf).pages[0].extract_text()
            results["qa.readers.read_pdf (pdfplumber chars + XY cut)"] = read_pdf(pdf).text
            print(f"\n{'right column drawn first' if swapped else 'columns drawn in order'} ({len(paras)} paragraphs):")
            for name, text in results.items():
                found, ordered = score(text, paras)
                radicals = sum(1 for ch in text if 0x2E80 <= ord(ch) <= 0x2FDF)
                lines = sum(1 for x in text.splitlines() if x.strip())
                print(f"  {name:50s} {found:2d}/{len(paras)} whole, in order: {'yes' if ordered else 'no'}, "
                      f"{lines} lines, radical code points: {radicals}")


if __name__ == "__main__":
    main()
