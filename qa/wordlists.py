"""Word tables and fitted numbers shipped as data: ``qa/data/*.txt`` (one entry a line) and ``*.json``.

Every file starts with ``#`` lines saying where its entries came from; this module only reads them
(once per process) so that no table is spread through the code as literals.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")


@functools.lru_cache(maxsize=None)
def rows(name: str) -> tuple[tuple[str, ...], ...]:
    """Lines of ``qa/data/NAME.txt`` as tuples of their space-separated entries (a name and what
    belongs to it), ``#`` comment lines and blank lines skipped."""
    out = []
    for line in (DATA_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(tuple(line.split()))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def words(name: str) -> tuple[str, ...]:
    """Entries of ``qa/data/NAME.txt`` (``rows``), each once: one a line, or several on a line
    separated by spaces."""
    return tuple(dict.fromkeys(entry for row in rows(name) for entry in row))


@functools.lru_cache(maxsize=None)
def table(name: str) -> dict:
    """``qa/data/NAME.json`` without its ``"_source"`` note (keys starting with ``_``)."""
    data = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}
