"""The seed bulletins indexed with the real model into a FAISS folder and into Milvus Lite, compared on
the dev set, the held-out questions and the two fresh sets (hit@5, refusals, top-5 overlap), and the two lexical searches
compared on their own: the project's BM25 (jieba terms + its synonyms and normalisation, counted in the
process) against Milvus's built-in BM25 (a VARCHAR field with the jieba analyzer and a BM25 function
into a sparse vector).  Writes bench/milvus_compare.json.

    python scripts/compare_milvus.py [--work /tmp/milvus-compare] [--model google/embeddinggemma-300m]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {"dev": ROOT.parent / "shared" / "eval" / "dev_qa.jsonl", "heldout": ROOT / "eval" / "heldout.jsonl",
        "fresh": ROOT / "eval" / "fresh.jsonl", "fresh2": ROOT / "eval" / "fresh2.jsonl"}


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def gold_rank(chunks, gold) -> int | None:
    for i, c in enumerate(chunks[:5]):
        if any(squash(g) in squash(c.text) for g in gold):
            return i + 1
    return None


def milvus_bm25(index, address: str, name: str = "bm25_probe"):
    """A collection of the chunks' context + text under Milvus's jieba analyzer and BM25 function."""
    from pymilvus import DataType, Function, FunctionType

    from qa.stores.milvus_store import client

    mc = client(address)
    if mc.has_collection(name):
        mc.drop_collection(name)
    s = mc.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("row", DataType.INT64, is_primary=True)
    s.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                analyzer_params={"tokenizer": "jieba"})
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                            output_field_names=["sparse"]))
    ip = mc.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    mc.create_collection(name, schema=s, index_params=ip)
    rows = [{"row": i, "text": f"{c.context}\n{c.text}"} for i, c in enumerate(index.chunks)]
    for b in range(0, len(rows), 500):
        mc.insert(name, rows[b:b + 500])
    mc.flush(name)

    def search(q: str, k: int = 5) -> list[int]:
        res = mc.search(name, data=[q], anns_field="sparse", limit=k, output_fields=["row"],
                        search_params={"metric_type": "BM25"})
        return [int(h["entity"]["row"]) for h in res[0]]

    return search


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/milvus-compare")
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default=str(ROOT / "bench" / "milvus_compare.json"))
    args = ap.parse_args()
    from functools import lru_cache

    from qa.address import build_index, load_index
    from qa.answer import Answerer
    from qa.embed import get_embedder
    from qa.evaluate import evaluate, load_eval
    from qa.retrieve import Retriever
    from qa.sources import source_text

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    emb = get_embedder(args.model)
    address = f"milvus:{work / 'seeds.db'}"
    out: dict = {"model": emb.model_id, "build_s": {}, "load_s": {}}
    for name, where in (("faiss", work / "folder"), ("milvus", address)):
        t = time.perf_counter()
        rep = build_index([ROOT / "seeds"], where, emb, progress=False, log=lambda *_: None)
        out["build_s"][name] = round(time.perf_counter() - t, 2)
        out[f"{name}_build"] = rep.summary()
    indexes = {}
    for name, where in (("faiss", work / "folder"), ("milvus", address)):
        t = time.perf_counter()
        indexes[name] = load_index(where)
        out["load_s"][name] = round(time.perf_counter() - t, 2)
    answerers = {n: Answerer(ix, emb) for n, ix in indexes.items()}
    st = lru_cache(maxsize=None)(source_text)
    bm_milvus = milvus_bm25(indexes["milvus"], address)
    bm_own = Retriever(indexes["faiss"], emb, fusion="bm25")
    for set_name, path in SETS.items():
        if not path.is_file():
            continue
        items = load_eval(path)
        answers = {n: [a.ask(it.q, it.turns()) for it in items] for n, a in answerers.items()}
        reports = {n: evaluate(items, ans, source_text=st) for n, ans in answers.items()}
        overlap = [len({h.chunk.id for h in x.passages} & {h.chunk.id for h in y.passages}) / max(1, len(x.passages))
                   for x, y in zip(answers["faiss"], answers["milvus"])]
        lex = {"own_bm25": 0, "milvus_bm25": 0}
        n_gold = 0
        for it in items:
            if it.kind == "unanswerable" or not it.gold:
                continue
            n_gold += 1
            lex["own_bm25"] += bool(gold_rank([h.chunk for h in bm_own.search(it.q, 5)], it.gold))
            lex["milvus_bm25"] += bool(gold_rank([indexes["faiss"].chunks[i] for i in bm_milvus(it.q)], it.gold))
        out[set_name] = {
            "questions": len(items),
            **{n: {"hit5": round(r.hit5, 4), "hit1": round(r.hit1, 4), "fact_recall": round(r.fact_recall, 4),
                   "refused": sum(a.refused for a in answers[n]),
                   "unanswerable_refused": r.unanswerable_refused, "answerable_refused": r.answerable_refused,
                   "citations_unverified": r.citations_unverified,
                   "search_ms_median": r.timings_ms_median.get("search"),
                   "total_ms_median": r.timings_ms_median.get("total")}
               for n, r in reports.items()},
            "same_refusals": sum(x.refused == y.refused for x, y in zip(answers["faiss"], answers["milvus"])),
            "top5_overlap": round(sum(overlap) / len(overlap), 4),
            "lexical_only_hit5": {k: round(v / max(1, n_gold), 4) for k, v in lex.items()},
        }
        print(set_name, json.dumps(out[set_name], ensure_ascii=False))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
