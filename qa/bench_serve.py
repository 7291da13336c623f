"""Serving benchmarks of ``app.py`` in a child process (``qa.app_process``), never timed tests.

- ``python -m qa bench --cold-start``: seconds from launch until the page answers HTTP and until the
  first question is answered (through the HTTP API), median of 3 launches.
- ``python -m qa bench --load``: 10, 20 and 50 users asking at the same moment through the HTTP API
  (one client each, made before the clock starts): errors, p50 and p95 seconds, and the CPU seconds
  the app and the load generator used during the burst, with the micro-batcher on (``QA_BATCH=1``,
  as many answered at once as one forward pass takes) and off (``QA_BATCH=0``, one question per
  forward pass, 2 at once, as before).  ``client="http"`` (default) asks through Gradio's REST
  route (``POST /gradio_api/call/ask``, then its event stream) with a plain ``httpx`` client;
  ``client="gradio"`` uses ``gradio_client``, which costs about as much CPU per question as the app
  itself (measured: 3.2–4.2 s for 50 questions), on the same 2 cores.

Both serve a copy-free index folder (``--index``; the app reads it, builds nothing when it is current).
"""

from __future__ import annotations

import json
import resource
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
            t_first = app.elapsed()
        page.append(round(t_page, 2))
        first.append(round(t_first, 2))
        log(f"launch {i + 1}: page {t_page:.1f} s, first answer {t_first:.1f} s")
    return {"index": str(index_dir), "page_ready_s": statistics.median(page), "first_answer_s": statistics.median(first),
            "page_ready_runs_s": page, "first_answer_runs_s": first}


class _GradioClientUser:
    """One user through ``gradio_client`` (connected when made)."""

    def __init__(self, url: str):
        from gradio_client import Client

        self.client = Client(url, verbose=False)

    def ask(self, q: str) -> str:
        out = self.client.predict(q, [], api_name="/ask")
        return out[0][-1].get("content") if out and out[0] else ""


class _HttpUser:
    """One user through Gradio's REST route for the ``ask`` endpoint: a POST that queues the
    question, then the event stream of that event until ``complete`` (or ``error``)."""

    def __init__(self, url: str):
        import httpx

        self.base = url.rstrip("/") + "/gradio_api/call/ask"
        self.http = httpx.Client(timeout=300)

    def ask(self, q: str) -> str:
        r = self.http.post(self.base, json={"data": [q, []]})
        r.raise_for_status()
        event = None
        with self.http.stream("GET", f"{self.base}/{r.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    if event == "error":
                        raise RuntimeError(f"error event: {line[5:].strip()[:150]}")
                    out = json.loads(line[5:])
                    return out[0][-1].get("content") if out and out[0] else ""
        raise RuntimeError("the event stream ended without an answer")


CLIENTS = {"http": _HttpUser, "gradio": _GradioClientUser}


def _burst(app: AppProcess, n: int, client: str = "http") -> dict:
    users = [CLIENTS[client](app.url) for _ in range(n)]  # connecting is not part of the timing
    start = threading.Barrier(n)
    lat, errors = [], []

    def one(i: int) -> None:
        q = QUESTIONS[i % len(QUESTIONS)]
        start.wait()
        t = time.perf_counter()
        try:
            if not users[i].ask(q):
                raise RuntimeError("empty answer")
            lat.append(time.perf_counter() - t)
        except Exception as e:  # counted, not raised: the table reports errors
            errors.append(f"{type(e).__name__}: {e}"[:200])

    app_cpu, own = app.cpu_s(), resource.getrusage(resource.RUSAGE_SELF)
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(one, range(n)))
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = own_after.ru_utime + own_after.ru_stime - own.ru_utime - own.ru_stime
    return {"users": n, "errors": len(errors), "p50_s": round(statistics.median(lat), 3) if lat else None,
            "p95_s": round(percentile(lat, 0.95), 3) if lat else None,
            "app_cpu_s": round(app.cpu_s() - app_cpu, 2), "client_cpu_s": round(client_cpu, 2),
            "error_samples": errors[:3]}


def load(index_dir: str | Path, users=(10, 20, 50), client: str = "http", log=print) -> dict:
    if client not in CLIENTS:
        raise ValueError(f"client={client!r}: one of {', '.join(CLIENTS)}")
    rows = []
    for batching in (True, False):
        env = {"QA_BATCH": "1" if batching else "0"}
        with AppProcess(index_dir, env=env) as app:
            app.wait_ready()
            _ask(app.url, QUESTIONS[0])  # the model is loaded before the clock starts
            for n in users:
                r = {"batching": batching, **_burst(app, n, client)}
                log(f"batching {'on ' if batching else 'off'} {n:3d} users: {r['errors']} errors, "
                    f"p50 {r['p50_s']} s, p95 {r['p95_s']} s, CPU app {r['app_cpu_s']} s / "
                    f"load generator {r['client_cpu_s']} s")
                rows.append(r)
    return {"index": str(index_dir), "client": client, "rows": rows}


def load_table(res: dict) -> str:
    out = [f"client: {res.get('client', 'gradio')}",
           "batching | users | errors | p50 s | p95 s | CPU s app / load generator",
           "---------+-------+--------+-------+-------+----------------------------"]
    for r in res["rows"]:
        out.append(f"{'on' if r['batching'] else 'off':8s} | {r['users']:5d} | {r['errors']:6d} | {r['p50_s']} | "
                   f"{r['p95_s']} | {r.get('app_cpu_s')} / {r.get('client_cpu_s')}")
    return "\n".join(out)
