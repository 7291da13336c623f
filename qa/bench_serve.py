"""Serving benchmarks of ``app.py`` in a child process (``qa.app_process``), never timed tests.

- ``python -m qa bench --cold-start``: seconds from launch until the page answers HTTP and until the
  first question is answered (through the HTTP API), median of 3 launches.
- ``python -m qa bench --load``: 10, 20 and 50 users asking at the same moment through the HTTP API
  (gradio_client, one client each, made before the clock starts): errors, p50 and p95 seconds, with
  the micro-batcher on (``QA_BATCH=1``, 8 answered at once) and off (``QA_BATCH=0``, one question per
  forward pass, 2 at once, as before).

Both serve a copy-free index folder (``--index``; the app reads it, builds nothing when it is current).
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .app_process import AppProcess
from .bench import percentile

QUESTIONS = ["工资被拖欠了找谁?", "货车司机之家的临时休息室里有什么?", "宝鸡工人文化宫每年培训多少人?", "怎么办理护照?",
             "有没有工会帮职工讨薪的案例?", "职工书屋能借书吗?", "劳模能享受哪些待遇?", "户外劳动者驿站在哪里?",
             "困难职工怎么申请帮扶?", "工会会员有什么福利?"]


def _ask(url: str, q: str) -> None:
    from gradio_client import Client

    out = Client(url, verbose=False).predict(q, [], api_name="/ask")
    if not (out and out[0] and out[0][-1].get("content")):
        raise RuntimeError(f"empty answer to {q}")


def cold_start(index_dir: str | Path, runs: int = 3, log=print) -> dict:
    page, first = [], []
    for i in range(runs):
        with AppProcess(index_dir) as app:
            t_page = app.wait_ready()
            _ask(app.url, QUESTIONS[0])
            t_first = time.perf_counter() - app._t0
        page.append(round(t_page, 2))
        first.append(round(t_first, 2))
        log(f"launch {i + 1}: page {t_page:.1f} s, first answer {t_first:.1f} s")
    return {"index": str(index_dir), "page_ready_s": statistics.median(page), "first_answer_s": statistics.median(first),
            "page_ready_runs_s": page, "first_answer_runs_s": first}


def _burst(url: str, n: int) -> dict:
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in range(n)]  # connecting is not part of the timing
    start = threading.Barrier(n)
    lat, errors = [], []

    def one(i: int) -> None:
        q = QUESTIONS[i % len(QUESTIONS)]
        start.wait()
        t = time.perf_counter()
        try:
            out = clients[i].predict(q, [], api_name="/ask")
            if not (out and out[0] and out[0][-1].get("content")):
                raise RuntimeError("empty answer")
            lat.append(time.perf_counter() - t)
        except Exception as e:  # counted, not raised: the table reports errors
            errors.append(f"{type(e).__name__}: {e}"[:200])

    with ThreadPoolExecutor(n) as pool:
        list(pool.map(one, range(n)))
    return {"users": n, "errors": len(errors), "p50_s": round(statistics.median(lat), 3) if lat else None,
            "p95_s": round(percentile(lat, 0.95), 3) if lat else None, "error_samples": errors[:3]}


def load(index_dir: str | Path, users=(10, 20, 50), log=print) -> dict:
    rows = []
    for batching in (True, False):
        env = {"QA_BATCH": "1" if batching else "0"}
        with AppProcess(index_dir, env=env) as app:
            app.wait_ready()
            _ask(app.url, QUESTIONS[0])  # the model is loaded before the clock starts
            for n in users:
                r = {"batching": batching, **_burst(app.url, n)}
                log(f"batching {'on ' if batching else 'off'} {n:3d} users: {r['errors']} errors, "
                    f"p50 {r['p50_s']} s, p95 {r['p95_s']} s")
                rows.append(r)
    return {"index": str(index_dir), "rows": rows}


def load_table(res: dict) -> str:
    out = ["batching | users | errors | p50 s | p95 s", "---------+-------+--------+-------+------"]
    for r in res["rows"]:
        out.append(f"{'on' if r['batching'] else 'off':8s} | {r['users']:5d} | {r['errors']:6d} | {r['p50_s']} | {r['p95_s']}")
    return "\n".join(out)
