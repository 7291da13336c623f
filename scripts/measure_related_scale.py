"""Measure the related words' vocabulary at scale (``qa.related``; ``related_max_words`` in qa/data/scoring.json).

- ``--index``: the vocabulary ``RelatedWords`` would embed (the index's Chinese BM25 words of 2–4
  characters) and their document frequencies: how many in at least 1, 2, 3, 5, 10, 20, 50, 100 chunks,
  and, for caps, the lowest document frequency kept and the float32 matrix's size;
- ``--speed N``: the model's ``encode_documents`` on the N most common of those words, as an Answerer over
  the seed index builds it (words/s, wall and CPU);
- ``--embed-cap``: the capped vocabulary embedded once, the way the app does (``RelatedWords.load()``, into a
  temporary cache folder): seconds and the matrix's size;
- ``--rule K``: on the seed index (``indexes/default``), the tune questions answered with the vocabulary cut
  to K words by the cap's rule (most chunks first) against K words drawn at random (3 draws) and against
  no related words at all.

    python scripts/measure_related_scale.py --index ~/.cache/gonghui-qa/bench/index-100k-hash768 \\
        --speed 3000 --embed-cap --rule 1500 --out bench/related_scale.json     # (one command line)

The 100k index is the bench's (``scripts/page_ready_100k.py`` builds it with a hash embedder: its BM25 terms
are those of a model-built index; only its vectors differ, and they are not read here).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.index_folder import load_index  # noqa: E402
from qa.related import RelatedWords  # noqa: E402

CAPS = (5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000)


def vocabulary_figures(index) -> tuple[dict, list[str]]:
    every = RelatedWords(index, None, max_words=10**9).vocabulary()
    df = {w: index.bm25.doc_freq(w) for w in every}
    by_df = sorted(every, key=lambda w: (-df[w], w))
    dim = index.manifest["model"]["dim"]
    return {"chunks": len(index.chunks), "bm25_terms": len(index.bm25.vocab), "words": len(every),
            "float32_mb_all": round(len(every) * dim * 4 / 2**20, 1),
            "words_by_length": {n: sum(len(w) == n for w in every) for n in (2, 3, 4)},
            "df_at_least": {k: sum(d >= k for d in df.values()) for k in (1, 2, 3, 5, 10, 20, 50, 100)},
            "caps": {cap: {"lowest_df_kept": df[by_df[min(cap, len(by_df)) - 1]],
                           "float32_mb": round(min(cap, len(every)) * dim * 4 / 2**20, 1)} for cap in CAPS},
            "examples": {f"df {lo}-{hi}": [w for w in by_df if lo <= df[w] <= hi][::997][:12]
                         for lo, hi in ((1, 1), (2, 4), (5, 19), (20, 99), (100, 10**9))}}, by_df


def seed_embedder():
    from qa.retrieve import Retriever

    return Retriever(load_index("indexes/default")).embedder  # the model and backend the seed index uses


def speed(words: list[str]) -> dict:
    emb = seed_embedder()
    emb.encode_documents(["热身"])  # the model's load is not counted
    c0, t0 = os.times(), time.perf_counter()
    emb.encode_documents(words)
    wall, c1 = time.perf_counter() - t0, os.times()
    cpu = c1.user - c0.user + c1.system - c0.system
    return {"words": len(words), "seconds": round(wall, 1), "words_per_s": round(len(words) / wall),
            "cpu_seconds": round(cpu, 1), "load_average_after": round(os.getloadavg()[0], 2),
            "backend": emb.fingerprint}


def embed_cap(index) -> dict:
    emb = seed_embedder()
    emb.encode_documents(["热身"])
    with tempfile.TemporaryDirectory() as tmp:
        rel = RelatedWords(index, emb, folder=tmp)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        c0, t0 = os.times(), time.perf_counter()
        rel.load()
        wall, c1 = time.perf_counter() - t0, os.times()
        words = len(rel.vocabulary())
        cache_mb = (Path(tmp) / "vectors.npz").stat().st_size / 2**20
    return {"max_words": rel.max_words, "words": words, "seconds": round(wall, 1),
            "words_per_s": round(words / wall), "cpu_seconds": round(c1.user - c0.user + c1.system - c0.system, 1),
            "float32_mb": round(words * emb.dim * 4 / 2**20, 1),
            "cache_file_mb": round(cache_mb, 1),
            "peak_rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024, 1),
            "load_average_after": round(os.getloadavg()[0], 2)}


class _Drawn(RelatedWords):
    """K words of the vocabulary drawn at random (the rule's comparison)."""

    def __init__(self, *a, draw: int, **kw):
        super().__init__(*a, **kw)
        self.draw = draw

    def vocabulary(self) -> list[str]:
        every = RelatedWords(self.index, None, max_words=10**9).vocabulary()
        keep = set(random.Random(self.draw).sample(every, min(self.max_words, len(every))))
        return [w for w in every if w in keep]


def rule(k: int) -> dict:
    from qa.answer import Answerer
    from qa.evaluate import evaluate, load_eval
    from qa.vocabulary import Vocabulary

    index = load_index("indexes/default")
    answerer = Answerer(index)
    emb = answerer.retriever.embedder
    items = load_eval("eval/tune.jsonl")

    def run(related) -> dict:
        answerer.related = related
        answerer.vocabulary = Vocabulary(index, related)  # questions are read with it (Answerer.analyse)
        if related is not None:
            related.load()
        rep = evaluate(items, [answerer.ask(it.q, it.turns()) for it in items]).to_json()
        return {key: rep[key] for key in ("hit1", "mrr", "fact_recall", "answerable_refused", "unanswerable_refused")}

    out = {"seed_words": len(RelatedWords(index, emb).vocabulary()), "k": k,
           "all_words": run(RelatedWords(index, emb)), "most_chunks": run(RelatedWords(index, emb, max_words=k)),
           "none": run(None)}
    for d in range(3):
        out[f"random_{d}"] = run(_Drawn(index, emb, max_words=k, draw=d))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", help="an index folder (e.g. the 100k bench index)")
    ap.add_argument("--speed", type=int, default=0, help="embed this many of its most common words")
    ap.add_argument("--embed-cap", action="store_true", help="embed its capped vocabulary once")
    ap.add_argument("--rule", type=int, default=0, help="tune with the seed vocabulary cut to this many words")
    ap.add_argument("--out", help="write the results here as JSON")
    args = ap.parse_args()
    result: dict = {}
    if args.index:
        index = load_index(Path(args.index).expanduser(), verify=False)
        result["vocabulary"], by_df = vocabulary_figures(index)
        print(json.dumps(result["vocabulary"], ensure_ascii=False), flush=True)
        if args.speed:
            result["speed"] = speed(by_df[: args.speed])
            print(json.dumps(result["speed"]), flush=True)
        if args.embed_cap:
            result["embed_cap"] = embed_cap(index)
            print(json.dumps(result["embed_cap"]), flush=True)
        del index
    if args.rule:
        result["rule"] = rule(args.rule)
        print(json.dumps(result["rule"]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
