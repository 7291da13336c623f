"""Page-ready seconds at 100k chunks (issue 13: ≤ 15 s), median of 3 launches of ``app.py``.

The bench's 100k news corpus (``qa.bench.corpus("100k")``: 116,752 chunks) is indexed with a 768-d hash
embedder — the same vector, record and file sizes as the model's index, built in about a minute instead of
an hour — because the page is served before any model loads (the model only decides when the first answer
comes, ``python -m qa bench --cold-start`` measures that on the seeds).  The index is kept in the per-user
cache (``bench/index-100k-hash768``) and reused.

    .venv/bin/python scripts/page_ready_100k.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.app_process import AppProcess  # noqa: E402
from qa.bench import corpus  # noqa: E402
from qa.embed import HashEmbedder  # noqa: E402
from qa.index import build_index  # noqa: E402
from qa.model import cache_dir  # noqa: E402


def main() -> int:
    out = cache_dir() / "bench" / "index-100k-hash768"
    sources, opts = corpus("100k")
    t = time.perf_counter()
    rep = build_index(sources, out, HashEmbedder(768), progress=False, log=lambda *_: None, **opts)  # nothing when current
    print(f"index {out}: {rep.chunks} chunks ({time.perf_counter() - t:.1f} s)", flush=True)
    page = []
    for i in range(3):
        with AppProcess(out, args=["--model", "hash-768"]) as app:
            page.append(round(app.wait_ready(), 2))
            print(f"launch {i + 1}: page {page[-1]} s, peak RSS {app.peak_rss_mb():.0f} MB", flush=True)
    print(json.dumps({"chunks": rep.chunks, "page_ready_runs_s": page, "page_ready_s": statistics.median(page)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
