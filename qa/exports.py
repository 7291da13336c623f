"""Exports: a case list as CSV (for Excel/WPS) or Markdown, written safely, in one folder the app owns.

- **CSV**: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would open as
  a live formula in a spreadsheet (``=HYPERLINK(...)``); such cells get a leading apostrophe, which the
  spreadsheet shows as text (OWASP "CSV injection").  Numbers (offsets) are written as numbers.
- **Markdown**: every cell is HTML-escaped and ``|`` and line breaks are neutralised, so a bulletin
  sentence or a query holding ``<script>`` or ``<img onerror=…>`` is text in any viewer.
- **ExportFolder**: each export pair goes into a fresh sub-folder of one folder the app owns; old
  sub-folders are removed when there are more than ``max_exports`` or they are older than
  ``max_age_s``, so searches from the page never grow the disk without bound.
"""

from __future__ import annotations

import csv
import html
import io
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

FIELDS = ("title", "place", "column", "source", "start", "end", "sentence")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int | float:
    """A CSV cell a spreadsheet shows as text: formula-looking strings get a leading apostrophe."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(cases) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore")
    w.writeheader()
    for c in cases:
        w.writerow({k: safe_cell(v) for k, v in asdict(c).items() if k in FIELDS})
    return buf.getvalue()


def md_cell(value) -> str:
    """One Markdown table cell: HTML-escaped, pipes and line breaks neutralised."""
    text = html.escape(str(value), quote=True)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def to_markdown(cases, query: str = "") -> str:
    lines = [f"# 案例：{md_cell(query)}", ""] if query else []
    lines += ["| # | 标题 | 地区/单位 | 栏目 | 摘录 | 出处 |", "| --- | --- | --- | --- | --- | --- |"]
    for i, c in enumerate(cases, 1):
        lines.append(f"| {i} | {md_cell(c.title)} | {md_cell(c.place)} | {md_cell(c.column)} | {md_cell(c.sentence)} | "
                     f"{md_cell(c.source)} [{c.start}:{c.end}] |")
    return "\n".join(lines) + "\n"


EXPORT_LIFETIME_S = 900.0  # how long a download link from a case search keeps working (the app's Gradio cache too)


class ExportFolder:
    """Sub-folders for export files under one root the app owns, pruned by count and age."""

    def __init__(self, root: str | Path | None = None, *, max_exports: int = 50, max_age_s: float = EXPORT_LIFETIME_S):
        if max_exports < 1:
            raise ValueError(f"max_exports={max_exports}: must be at least 1")
        self.root = Path(root) if root is not None else Path(tempfile.gettempdir()) / "gonghui-qa-exports"
        self.max_exports = max_exports
        self.max_age_s = max_age_s
        self._lock = threading.Lock()

    def write(self, files: dict[str, tuple[str, str]]) -> dict[str, Path]:
        """Write ``{name: (text, encoding)}`` into a new sub-folder; returns ``{name: path}``."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            self.prune(keep=self.max_exports - 1)
            folder = self.root / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
            folder.mkdir()
        out = {}
        for name, (text, encoding) in files.items():
            path = folder / Path(name).name  # a bare file name, never a path from outside
            path.write_text(text, encoding=encoding)
            out[name] = path
        return out

    def folders(self) -> list[Path]:
        """Export sub-folders, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted((p for p in self.root.iterdir() if p.is_dir()), key=lambda p: p.name)

    def prune(self, keep: int | None = None) -> int:
        """Remove sub-folders older than ``max_age_s`` and the oldest beyond ``keep``; returns how many."""
        keep = self.max_exports if keep is None else keep
        now = time.time()
        folders = self.folders()
        gone = 0
        for i, p in enumerate(folders):
            try:
                old = now - p.stat().st_mtime > self.max_age_s
            except OSError:
                continue
            if old or i < len(folders) - keep:
                shutil.rmtree(p, ignore_errors=True)
                gone += 1
        return gone
