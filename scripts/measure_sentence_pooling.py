"""Measure whether sentence vectors can come from the chunk pass (README, Performance, "Less to embed").

A build embeds every chunk and, separately, every sentence (with its article title).  EmbeddingGemma's
head is mean pooling then two bias-free linear layers then normalisation, so projecting every token of
a chunk's forward pass and averaging a sentence's tokens gives a contextual vector for that sentence
at no extra forward pass.  This script measures, on an existing index:

- how close those pooled vectors are to the standalone ones the index holds (cosine mean/min);
- tune and held-out answers with the pooled vectors substituted into a copy of the index
  (``sentences.npy`` and its checksum; the per-sentence reach and the sentence background are computed
  from the sentence vectors when the index is loaded, so they follow) against the index as it is, and
  how many answers changed;
- a check free of the fitted weights: by cosine alone, where the sentence holding a question's fact
  ranks among its gold passages' sentences and among all sentences;
- the embedding time of a seed build, per backend as a build calls it: the chunks alone vs the sentences.

A sentence gets the chunk that holds it wholly (the most central one when two overlapping chunks do);
a sentence that no chunk holds wholly keeps its standalone vector.  Pooling variants: ``span`` (the
sentence's tokens only) and ``frame`` (its tokens plus the chunk input's prompt/title and special
tokens, the same frame a standalone input has).

    QA_EMBED_BACKEND=torch-bf16 python -m qa index --index /tmp/sp/torch     # a torch-bf16 seed index
    python scripts/measure_sentence_pooling.py --index /tmp/sp/torch --index indexes/default --out /tmp/sp/final
                                               --time openvino-bf16,torch-bf16 --repeats 3   # (one command line)

Results go to ``OUT/result.json`` (the run in README was copied to ``bench/sentence_pooling.json``).

Vectors are computed with sentence-transformers on torch in bf16 (the ``torch-bf16`` backend's model).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.chunks import Chunk, Sentence  # noqa: E402
from qa.embed import backend_of  # noqa: E402
from qa.index_folder import read_jsonl, sha256  # noqa: E402
from qa.stores.faiss_store import FaissStore  # noqa: E402

VARIANTS = ("span", "frame")


# ---------------------------------------------------------------- where each sentence sits

def chunk_offset(chunk: Chunk, pos: int) -> int | None:
    """Offset in ``chunk.text`` of source offset ``pos`` (None when the chunk does not cover it)."""
    done = 0
    for s, e in chunk.spans:
        if s <= pos < e:
            return done + pos - s
        done += e - s
    return None


def placement(chunks: list[Chunk], sentences: list[Sentence]) -> list[tuple[int, int, int] | None]:
    """For each sentence, (chunk row, start, end) of its text inside a chunk that holds it wholly (the
    chunk where it sits most centrally), else None."""
    by_article: dict[tuple, list[int]] = {}
    for i, c in enumerate(chunks):
        by_article.setdefault((c.source, c.article), []).append(i)
    out = []
    for s in sentences:
        best, best_margin = None, -1
        for i in by_article.get((s.source, s.article), ()):
            c = chunks[i]
            a = chunk_offset(c, s.start)
            if a is None or c.text[a:a + len(s.text)] != s.text:
                continue
            b = a + len(s.text)
            margin = min(a, len(c.text) - b)
            if margin > best_margin:
                best, best_margin = (i, a, b), margin
        out.append(best)
    return out


# ---------------------------------------------------------------- the model

def document_input(prompt: str, title: str, text: str) -> tuple[str, int]:
    """EmbeddingGemma's prompted document input and where ``text`` starts in it (as the backends build it)."""
    title = " ".join(title.split())
    head = prompt.replace("title: none", f"title: {title or 'none'}") if "title: none" in prompt else (
        f"{prompt}{title}\n" if title else prompt)
    return head + text, len(head)


class TokenVectors:
    """Per-token projected vectors (after both Dense layers, before normalisation) of prompted inputs,
    from sentence-transformers on torch in bf16."""

    def __init__(self):
        import torch
        from sentence_transformers import SentenceTransformer

        from qa.model import DEFAULT_MODEL, bf16_copy, resolve

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = resolve(os.environ.get("QA_EMBED_MODEL") or DEFAULT_MODEL, fetch=False)
        self.st = SentenceTransformer(bf16_copy(path, log=lambda *_: None) or path, device="cpu", model_kwargs={"torch_dtype": torch.bfloat16})
        self.prompt = self.st.prompts.get("document", "")
        modules = list(self.st)
        names = [type(m).__name__ for m in modules]
        assert names[:4] == ["Transformer", "Pooling", "Dense", "Dense"], names
        for d in modules[2:4]:
            assert d.linear.bias is None and type(d.activation_function).__name__ == "Identity"
        self.weights = [d.linear.weight.detach().float() for d in modules[2:4]]

    def run(self, inputs: list[str]) -> list[tuple[np.ndarray, list[tuple[int, int]], np.ndarray]]:
        """For each input: (token vectors [n, 768] float32, char offsets, special-token mask)."""
        import torch

        tok = self.st.tokenizer(inputs, padding=True, return_offsets_mapping=True, return_special_tokens_mask=True,
                                return_tensors="pt")
        feats = {"input_ids": tok["input_ids"], "attention_mask": tok["attention_mask"]}
        with torch.inference_mode():
            h = self.st[0](feats)["token_embeddings"].float()
            for w in self.weights:
                h = h @ w.T
        out = []
        for i in range(len(inputs)):
            keep = tok["attention_mask"][i].bool()
            out.append((h[i][keep].numpy(), [tuple(x) for x in tok["offset_mapping"][i][keep].tolist()],
                        tok["special_tokens_mask"][i][keep].numpy().astype(bool)))
        return out

    def standalone(self, inputs: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.st.encode(inputs, batch_size=16, prompt="", convert_to_numpy=True, normalize_embeddings=True)


def unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def pooled_vectors(model: TokenVectors, chunks: list[Chunk], sentences: list[Sentence], where, batch: int = 8):
    """Chunk vectors (mean over every token) and, per variant, sentence vectors pooled from the chunk
    pass (rows of sentences no chunk holds are NaN); and the seconds the pass took."""
    inputs = [document_input(model.prompt, c.context, c.text) for c in chunks]
    by_chunk: dict[int, list[int]] = {}
    for sid, w in enumerate(where):
        if w is not None:
            by_chunk.setdefault(w[0], []).append(sid)
    dim = model.weights[-1].shape[0]
    chunk_vecs = np.zeros((len(chunks), dim), np.float32)
    sent = {v: np.full((len(sentences), dim), np.nan, np.float32) for v in VARIANTS}
    order = np.argsort([len(x) for x, _ in inputs])[::-1]
    t0 = time.perf_counter()
    for b in range(0, len(order), batch):
        rows = [int(i) for i in order[b:b + batch]]
        for row, (h, offsets, special) in zip(rows, model.run([inputs[i][0] for i in rows])):
            chunk_vecs[row] = unit(h.mean(axis=0))
            text_at = inputs[row][1]
            frame = special | np.array([e <= text_at and not sp for (s, e), sp in zip(offsets, special)])
            for sid in by_chunk.get(row, ()):
                _, a, z = where[sid]
                a, z = a + text_at, z + text_at
                span = np.array([not sp and s < z and e > a for (s, e), sp in zip(offsets, special)])
                sent["span"][sid] = unit(h[span].mean(axis=0))
                sent["frame"][sid] = unit(h[span | frame].mean(axis=0))
    return chunk_vecs, sent, time.perf_counter() - t0


# ---------------------------------------------------------------- index copies and evaluation

def substituted_copy(index_dir: Path, out: Path, sentence_vectors: np.ndarray) -> Path:
    """A copy of ``index_dir`` with ``sentences.npy`` replaced (float16, as a build writes it) and the
    manifest's checksum and size of it updated."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(index_dir, out)
    np.save(out / "sentences.npy", sentence_vectors.astype(np.float16), allow_pickle=False)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    m["files"]["sentences.npy"] = sha256(out / "sentences.npy")
    m.setdefault("sizes", {})["sentences.npy"] = (out / "sentences.npy").stat().st_size
    (out / "manifest.json").write_text(json.dumps(m, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


def evaluate_index(index_dir: Path, files: list[Path], embedder=None) -> tuple[dict, dict, object]:
    """As ``python -m qa eval FILE --index DIR`` does: figures per file, and each answer's text per
    question id (to count changed answers); returns the embedder for reuse."""
    from functools import lru_cache

    from qa.address import load_index
    from qa.answer import Answerer
    from qa.evaluate import evaluate, load_eval
    from qa.sources import source_text

    index = load_index(index_dir)
    answerer = Answerer(index, embedder, k=5, fusion="adaptive")
    answerer.warm_up()
    figures, answers = {}, {}
    for f in files:
        items = load_eval(f)
        got = [answerer.ask(it.q, it.turns(), k=5) for it in items]
        r = evaluate(items, got, source_text=lru_cache(maxsize=None)(source_text))
        figures[f.stem] = {"hit@1": round(r.hit1, 3), "hit@5": round(r.hit5, 3), "MRR": round(r.mrr, 3),
                           "fact recall": round(r.fact_recall, 3), "answerable refused": r.answerable_refused,
                           "unanswerable refused": r.unanswerable_refused, "n_answerable": r.n_answerable,
                           "n_unanswerable": r.n_unanswerable, "citations unverified": r.citations_unverified}
        answers[f.stem] = {it.id: ("REFUSED " if a.refused else "") + a.plain_text() for it, a in zip(items, got)}
    return figures, answers, answerer.retriever.embedder


def fact_sentence_ranking(index_dir: Path, vectors: dict[str, np.ndarray], files: list[Path], embedder) -> dict:
    """A check free of any fitted weight: for each answerable question with gold and facts, rank by
    cosine alone (a) the sentences of the passages holding its gold text and (b) every sentence, and
    see where the first sentence holding one of its facts lands (hit@1, MRR), per set of vectors."""
    import re

    from qa.address import load_index
    from qa.evaluate import load_eval
    from qa.tokens import normalise

    def squash(x: str) -> str:
        return re.sub(r"\s+", "", x)

    index = load_index(index_dir)
    by_chunk = index.sentence_ids_by_chunk()
    out = {}
    for f in files:
        items = [it for it in load_eval(f) if it.kind != "unanswerable" and it.gold and it.facts]
        qv = embedder.encode_queries([normalise(it.q) for it in items])
        acc = {k: np.zeros(5) for k in vectors}
        for it, q in zip(items, qv):
            cand = sorted({sid for c in index.chunks if any(squash(g) in squash(c.text) for g in it.gold)
                           for sid in by_chunk.get(c.id, ())})
            target = [sid for sid in cand if any(squash(x) in squash(index.sentences[sid].text) for x in it.facts)]
            if not target:
                continue
            for k, v in vectors.items():
                cos = v @ q
                best = max(cos[t] for t in target)
                r_in = int((cos[cand] > best).sum()) + 1
                r_all = int((cos > best).sum()) + 1
                acc[k] += (r_in == 1, 1 / r_in, r_all == 1, 1 / r_all, 1)
        out[f.stem] = {k: {"n": int(a[4]), "in_gold_passages_hit@1": round(a[0] / a[4], 3),
                           "in_gold_passages_MRR": round(a[1] / a[4], 3), "all_sentences_hit@1": round(a[2] / a[4], 3),
                           "all_sentences_MRR": round(a[3] / a[4], 3)} for k, a in acc.items()}
    return out


# ---------------------------------------------------------------- timing

def time_build_passes(chunks: list[Chunk], sentences: list[Sentence], contexts: list[str], backends: list[str],
                      repeats: int) -> dict:
    """Seconds each backend takes to embed the chunks and the sentences of a seed build (its own
    document batches, as a build calls it), best of ``repeats``."""
    from qa.embed import get_embedder

    out = {}
    for b in backends:
        e = get_embedder(backend=b, log=lambda *_: None)
        e.encode_documents(["预热"], [""])  # load (and compile) outside the timing
        tc = ts = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            e.encode_documents([c.text for c in chunks], [c.context for c in chunks])
            tc = min(tc, time.perf_counter() - t0)
            t0 = time.perf_counter()
            e.encode_documents([s.text for s in sentences], contexts)
            ts = min(ts, time.perf_counter() - t0)
        out[b] = {"chunks_s": round(tc, 2), "sentences_s": round(ts, 2), "both_s": round(tc + ts, 2),
                  "chunks_items_per_s": round(len(chunks) / tc, 2),
                  "both_items_per_s": round((len(chunks) + len(sentences)) / (tc + ts), 2)}
        del e
    return out


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index", action="append", required=True, help="index folder (repeatable); single base segment")
    p.add_argument("--out", default="/tmp/sp/measure", help="where the substituted copies and results go")
    p.add_argument("--eval", action="append", default=None, help="eval files (default: eval/tune.jsonl, eval/heldout.jsonl)")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--time", default="", help="backends to time, comma-separated (e.g. openvino-bf16,torch-bf16)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-eval", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = [Path(f) for f in (args.eval or [ROOT / "eval/tune.jsonl", ROOT / "eval/heldout.jsonl"])]
    variants = [v for v in args.variants.split(",") if v]
    model = TokenVectors()
    result: dict = {"load_average": os.getloadavg(), "indexes": {}}
    chunks = sentences = contexts = None
    for idx in map(Path, args.index):
        m = json.loads((idx / "manifest.json").read_text(encoding="utf-8"))
        assert m.get("segments", [""]) == [""], f"{idx}: one base segment expected"
        chunks = [Chunk.from_json(r) for r in read_jsonl(idx / "chunks.jsonl")]
        sentences = [Sentence.from_json(r) for r in read_jsonl(idx / "sentences.jsonl")]
        standalone = np.load(idx / "sentences.npy").astype(np.float32)
        stored_chunks = FaissStore.read(idx / "index.faiss").vectors()
        where = placement(chunks, sentences)
        chunk_vecs, pooled, seconds = pooled_vectors(model, chunks, sentences, where)
        held = np.array([w is not None for w in where])
        ctx_of = {(c.source, c.article): c.context for c in chunks}
        contexts = [ctx_of[(s.source, s.article)] for s in sentences]
        rec: dict = {"backend": backend_of(m["model"]["fingerprint"]),
                     "chunks": len(chunks), "sentences": len(sentences), "sentences_in_one_chunk": int(held.sum()),
                     "pooled_pass_s": round(seconds, 2),
                     "chunk_pass_vs_index_chunks_cos": {"mean": round(float((chunk_vecs * stored_chunks).sum(1).mean()), 4),
                                                        "min": round(float((chunk_vecs * stored_chunks).sum(1).min()), 4)}}
        for v in variants:
            cos = (pooled[v][held] * standalone[held]).sum(1) / np.linalg.norm(standalone[held], axis=1)
            rec[f"cos_{v}"] = {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4),
                               "p10": round(float(np.percentile(cos, 10)), 4)}
        if not args.no_eval:
            base_fig, base_ans, emb = evaluate_index(idx, files)
            rec["eval"] = {"baseline": base_fig}
            for v in variants:
                vecs = np.where(held[:, None], pooled[v], standalone)
                copy = substituted_copy(idx, out / f"{idx.name}-{v}", vecs)
                fig, ans, _ = evaluate_index(copy, files, emb)
                rec["eval"][v] = fig
                rec["eval"][f"{v}_changed_answers"] = {k: sum(ans[k][q] != base_ans[k][q] for q in ans[k]) for k in ans}
            rec["cosine_only"] = fact_sentence_ranking(
                idx, {"standalone": standalone, **{v: np.where(held[:, None], pooled[v], standalone) for v in variants}},
                files, emb)
            del emb
        result["indexes"][str(idx)] = rec
        print(json.dumps(rec, ensure_ascii=False, indent=1), flush=True)
    if args.time and chunks is not None:
        del model
        result["timing"] = {"items": {"chunks": len(chunks), "sentences": len(sentences)},
                            **time_build_passes(chunks, sentences, contexts, args.time.split(","), args.repeats)}
        print(json.dumps(result["timing"], indent=1), flush=True)
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"written {out / 'result.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
