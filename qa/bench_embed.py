"""``python -m qa bench --embed-backends``: each embedding backend's speed and quality, in one run.

For every backend (``qa.embed.BACKENDS``): items/s at batch 1, 16 and 32 on the seed chunks (the same
texts, titles and document prompt the index embeds: the first 64 of them, 16 at batch 1), all backends
loaded together and timed in turns, median of 2 rounds; the mean cosine
between its vectors of all seed chunks and torch-bf16's; and hit@5 / MRR / refusals on the dev set and
the held-out set, answered from a seed index built by that backend (skipped for a backend whose mean
cosine already rules it out).

The default is the fastest backend (items/s at batch 16, the build's batch) whose mean cosine to
torch-bf16 is >= 0.99 and whose hit@5 and MRR are within 0.01 of torch-bf16's on both sets; torch-bf16
when none qualifies.  Speeds are from one run on the same machine.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from .model import cache_dir

ROOT = Path(__file__).resolve().parent.parent
EVAL_SETS = {"dev": ROOT.parent / "shared" / "eval" / "dev_qa.jsonl", "heldout": ROOT / "eval" / "heldout.jsonl"}
BATCHES = (1, 16, 32)
DEFAULT_BACKENDS = ("torch-bf16", "onnx-fp32", "onnx-int8", "openvino-bf16")  # torch-fp32 is ~5x slower than bf16 (README)
SPEED_ITEMS, SPEED_ITEMS_B1, ROUNDS = 64, 16, 2
MIN_COSINE = 0.99
MAX_DROP = 0.01


def choose_default(backends: list[dict], reference: str = "torch-bf16") -> str:
    """The fastest backend that keeps quality (see the module doc); ``reference`` when none does."""
    ref = next(b for b in backends if b["name"] == reference)

    def keeps(b: dict) -> bool:
        if b["name"] == reference:
            return True
        if (b.get("mean_cosine_to_torch") or 0) < MIN_COSINE:
            return False
        for metric in ("hit5", "mrr"):
            for name, value in (ref.get(metric) or {}).items():
                if (b.get(metric) or {}).get(name) is None or b[metric][name] < value - MAX_DROP:
                    return False
        return True

    ok = [b for b in backends if keeps(b) and b.get("items_per_s")]
    return max(ok, key=lambda b: b["items_per_s"])["name"] if ok else reference


def _speed(emb, texts: list[str], titles: list[str], batch: int) -> float:
    emb.batch_size = batch
    n = min(SPEED_ITEMS if batch > 1 else SPEED_ITEMS_B1, len(texts))
    t = time.perf_counter()
    emb.encode_documents(texts[:n], titles[:n])
    return n / (time.perf_counter() - t)


def _quality(emb, name: str, log) -> dict:
    from .answer import Answerer
    from .evaluate import ask_all, evaluate, load_eval
    from .index import build_index, load_index
    from .sources import source_text

    out = cache_dir() / "bench" / f"index-backend-{name}"
    emb.batch_size = 16
    build_index([ROOT / "seeds"], out, emb, progress=False, log=lambda *_: None)
    answerer = Answerer(load_index(out), emb)
    answerer.warm_up()
    res = {"hit5": {}, "mrr": {}, "answerable_refused": {}, "unanswerable_refused": {}}
    for set_name, path in EVAL_SETS.items():
        if not path.is_file():
            log(f"  {path} missing; {set_name} skipped")
            continue
        items = load_eval(path)
        rep = evaluate(items, ask_all(answerer, items), source_text=source_text)
        res["hit5"][set_name] = round(rep.hit5, 3)
        res["mrr"][set_name] = round(rep.mrr, 3)
        res["answerable_refused"][set_name] = f"{rep.answerable_refused}/{rep.n_answerable}"
        res["unanswerable_refused"][set_name] = f"{rep.unanswerable_refused}/{rep.n_unanswerable}"
        log(f"  {name} {set_name}: hit@5 {rep.hit5:.3f} MRR {rep.mrr:.3f} "
            f"refused {rep.answerable_refused}/{rep.n_answerable} answerable, "
            f"{rep.unanswerable_refused}/{rep.n_unanswerable} unanswerable")
    res["index"] = str(out)
    return res


def run(backends=None, *, quality: bool = True, log=print) -> dict:
    from .chunks import articles_of, chunk_article, make_splitter
    from .embed import get_embedder
    from .sources import load_documents

    names = list(backends or DEFAULT_BACKENDS)
    if "torch-bf16" not in names:
        names.insert(0, "torch-bf16")
    names.sort(key=lambda n: n != "torch-bf16")  # the reference first
    sp = make_splitter()
    texts, titles = [], []
    for doc in load_documents([ROOT / "seeds"]):
        for a in articles_of(doc):
            for c in chunk_article(a, sp):
                texts.append(c.text)
                titles.append(c.context)
    log(f"{len(texts)} seed chunks; backends: {', '.join(names)}")
    # all backends loaded at once and timed in turns (round robin, ROUNDS rounds, medians), so that what
    # else the shared machine does falls on all of them alike
    embs, load_s = {}, {}
    for name in names:
        embs[name] = get_embedder(None, backend=name, log=log)
        t = time.perf_counter()
        embs[name].encode_documents(["预热"], [""])  # load (and export, the first time) outside the timings
        load_s[name] = round(time.perf_counter() - t, 1)
    timings: dict[str, dict[str, list[float]]] = {n: {str(b): [] for b in BATCHES} for n in names}
    for r in range(ROUNDS):
        for name in names:
            for b in BATCHES:
                timings[name][str(b)].append(_speed(embs[name], texts, titles, b))
            log(f"round {r + 1} {name}: " + ", ".join(f"b{b} {timings[name][str(b)][-1]:.2f}/s" for b in BATCHES))
    reference = None
    rows = []
    for name in names:
        emb = embs[name]
        speeds = {b: round(statistics.median(v), 2) for b, v in timings[name].items()}
        emb.batch_size = 16
        vecs = emb.encode_documents(texts, titles)
        if reference is None:
            reference = vecs
        cos = np.sum(vecs * reference, axis=1)
        row = {"name": name, "items_per_s": speeds["16"], "items_per_s_by_batch": speeds,
               "mean_cosine_to_torch": round(float(cos.mean()), 5), "min_cosine_to_torch": round(float(cos.min()), 5),
               "load_s": load_s[name], "fingerprint": emb.fingerprint}
        log(f"{name}: {speeds} items/s; cosine to torch-bf16 mean {row['mean_cosine_to_torch']} "
            f"min {row['min_cosine_to_torch']}")
        rows.append(row)
    if quality:
        for row in rows:
            if row["mean_cosine_to_torch"] < MIN_COSINE:  # cannot qualify: its index build is not worth the time
                log(f"{row['name']}: mean cosine {row['mean_cosine_to_torch']} < {MIN_COSINE}; quality not measured")
                continue
            row.update(_quality(embs[row["name"]], row["name"], log))
    ref = rows[0]["items_per_s"]
    for r in rows:
        r["speedup_vs_torch_bf16"] = round(r["items_per_s"] / ref, 2) if ref else None
    return {"default": choose_default(rows) if quality else None, "measured": time.strftime("%Y-%m-%d %H:%M"),
            "items": len(texts), "backends": rows}


def table(res: dict) -> str:
    head = ["backend", "b=1/s", "b=16/s", "b=32/s", "×bf16", "cos mean", "cos min", "hit@5 dev/held", "MRR dev/held",
            "refused ans. dev/held", "refused unans. dev/held"]
    rows = []
    for r in res["backends"]:
        s = r["items_per_s_by_batch"]

        def pair(key):
            d = r.get(key) or {}
            return " / ".join(str(d.get(k, "–")) for k in ("dev", "heldout"))

        rows.append([r["name"] + (" *" if r["name"] == res.get("default") else ""), str(s["1"]), str(s["16"]),
                     str(s["32"]), f"{r['speedup_vs_torch_bf16']:.2f}", f"{r['mean_cosine_to_torch']:.4f}",
                     f"{r['min_cosine_to_torch']:.4f}", pair("hit5"), pair("mrr"), pair("answerable_refused"),
                     pair("unanswerable_refused")])
    w = [max(len(h), *(len(x[i]) for x in rows)) for i, h in enumerate(head)]
    out = [" | ".join(h.ljust(w[i]) for i, h in enumerate(head)), "-+-".join("-" * x for x in w)]
    out += [" | ".join(x[i].ljust(w[i]) for i in range(len(head))) for x in rows]
    if res.get("default"):
        out.append(f"default (*): {res['default']} — fastest with mean cosine >= {MIN_COSINE} and hit@5/MRR within "
                   f"{MAX_DROP} of torch-bf16")
    return "\n".join(out)
