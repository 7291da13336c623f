"""Bulletin files made during the test run (no binaries are committed): a PDF printed from a seed
bulletin by headless Chromium (page 1 in two columns), a PDF written by hand with Latin text in two
columns drawn right column first, an image-only PDF (Pillow), a .docx written with python-docx and a
web page with menus and a footer around the article."""

from __future__ import annotations

import html
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

PRINT_CSS = """@page { size: A4; margin: 15mm; }
body { font-family: "Noto Serif CJK SC", serif; font-size: 10.5pt; line-height: 1.5; margin: 0; }
p { margin: 0 0 0.6em 0; text-indent: 2em; }
.two { column-count: 2; column-gap: 8mm; height: 262mm; column-fill: auto; break-after: page; }"""


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


def print_pdf(text: str, out: Path, two_column: int = 14) -> Path:
    """``text`` (a .txt bulletin) printed to ``out`` by headless Chromium: its first ``two_column``
    paragraphs on page 1 in two columns, the rest in one column on the pages after.  Chromium's
    running head (date, page title) and foot (file URL, "n/N") are printed on every page."""
    paras = [f"<p>{html.escape(p)}</p>" for p in paragraphs(text)]
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>工会公报 2024年第3期</title>'
            f'<style>{PRINT_CSS}</style></head><body>'
            f'<div class="two">{"".join(paras[:two_column])}</div>{"".join(paras[two_column:])}</body></html>')
    src = out.with_suffix(".print.html")
    src.write_text(page, encoding="utf-8")
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                    f"--print-to-pdf={out}", src.as_uri()], check=True, capture_output=True, timeout=120)
    src.unlink()
    return out


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file from its numbered objects (1 = catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def latin_pdf(pages: list[list[tuple[float, float, str]]], out: Path, size: float = 10) -> Path:
    """A PDF with Helvetica text lines drawn in the order given: ``pages`` holds each page's lines as
    (x, y from the top, text).  Letter-size pages."""
    n = len(pages)
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>",
                            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
                                b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n)), n),
                            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for lines in pages:
        stream = b"".join(b"BT /F1 %g Tf %g %g Td (%s) Tj ET\n" % (size, x, 792 - y, t.encode("latin-1"))
                          for x, y, t in lines)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       b"/Contents %d 0 R >>" % (len(objects) + 2))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
    out.write_bytes(_pdf(objects))
    return out


def image_pdf(out: Path) -> Path:
    """A scanned-like PDF: one page that is only a picture (of a few dark bars, no text layer)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(img)
    for y in range(80, 700, 40):
        draw.rectangle((60, y, 540, y + 14), fill="black")
    img.save(out, "PDF", resolution=72)
    return out


def docx_file(text: str, out: Path, table: list[list[str]] | None = None, heading: str = "") -> Path:
    """``text`` (a .txt bulletin) as a Word document, one paragraph per paragraph, ``heading`` first
    in a Heading style and ``table`` (first row = header) after the first three paragraphs."""
    import docx

    d = docx.Document()
    if heading:
        d.add_heading(heading, level=1)
    for i, p in enumerate(paragraphs(text)):
        d.add_paragraph(p)
        if table and i == 2:
            t = d.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, cell in enumerate(row):
                    t.cell(r, c).text = cell
    d.save(str(out))
    return out


def web_page(title: str, text: str, out: Path) -> Path:
    """An article page as a site serves it: menus, a sidebar and a footer around the article."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs(text))
    page = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
<body><header><nav><a href="/">首页</a> | <a href="/news">要闻</a> | <a href="/about">网站导航菜单</a></nav></header>
<main><article><h1>{html.escape(title)}</h1>{body}</article></main>
<aside><h3>热门排行</h3><ul><li><a href="/x">侧栏推荐链接甲</a></li><li><a href="/y">侧栏推荐链接乙</a></li></ul></aside>
<footer><p>版权所有 某某网站 备案号 京ICP备00000000号 页脚联系方式</p></footer></body></html>"""
    out.write_text(page, encoding="utf-8")
    return out
