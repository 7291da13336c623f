"""Where the time of a Milvus index update goes: the 37k news corpus (``python -m qa bench``'s) built once
into Milvus Lite and into a FAISS folder with the 768-d hash embedder, then, on copies, one bulletin
added (append), one edited and one removed, each timed in the same run for both stores, the Milvus ones
under cProfile (the top functions by own and cumulative time printed, the profiles kept beside the JSON).

    nice -n 15 python scripts/profile_milvus_update.py [--size 37k] [--work DIR] [--top 25]

The first run builds the two indexes (minutes); later runs reuse them.  Writes bench/milvus_update.json.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADDED = ("第9期\n\n东山区总工会开展送清凉活动\n\n本刊讯 东山区总工会为高温下作业的环卫工人送去绿豆汤和藿香正气水"
         "共计860份。\n")
QUIET = {"progress": False, "log": lambda *_: None}


def _copy(src: Path, dst: Path) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)


def _close_clients() -> None:
    from qa.stores import milvus_store

    for c in milvus_store._clients.values():  # Milvus Lite holds the file while a client is open
        c.close()
    milvus_store._clients.clear()


def main() -> int:
    from qa.address import build_index, load_index
    from qa.bench import corpus
    from qa.embed import HashEmbedder
    from qa.model import cache_dir

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="37k")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "milvus_update.json")
    args = ap.parse_args()
    work = args.work or cache_dir() / "bench" / f"milvus-update-{args.size}"
    sources, opts = corpus(args.size)
    src = Path(sources[0])
    emb = HashEmbedder(768)
    run, snapshot = work / "run", work / "snapshot"  # the same paths every time: the manifests record them
    if not (snapshot / "ok").is_file():
        shutil.rmtree(run, ignore_errors=True)
        (run / "corpus").mkdir(parents=True)
        shutil.copy(src, run / "corpus" / src.name)
        for store, address in (("faiss", str(run / "folder")), ("milvus", f"milvus:{run / 'm' / 'index.db'}")):
            t = time.perf_counter()
            rep = build_index([run / "corpus"], address, emb, **QUIET, **opts)
            print(f"built {store}: {rep.chunks} chunks in {time.perf_counter() - t:.1f} s", flush=True)
        _close_clients()
        _copy(run, snapshot)
        (snapshot / "ok").write_text("1")
    out: dict = {"measured": time.strftime("%Y-%m-%d %H:%M"), "size": args.size, "steps": {}}
    for store in ("faiss", "milvus"):
        _close_clients()
        _copy(snapshot, run)
        corpus_dir = run / "corpus"
        address = str(run / "folder") if store == "faiss" else f"milvus:{run / 'm' / 'index.db'}"
        lines = (corpus_dir / src.name).read_text(encoding="utf-8").splitlines()
        edited = json.loads(lines[100])
        edited["text"] += "本刊讯 补记:东山区总工会为环卫工人送去绿豆汤共计920份。"

        def add() -> None:
            (corpus_dir / "added.txt").write_text(ADDED, encoding="utf-8")

        def edit() -> None:
            (corpus_dir / src.name).write_text("\n".join(lines[:100] + [json.dumps(edited, ensure_ascii=False)]
                                                         + lines[101:]) + "\n", encoding="utf-8")

        def remove() -> None:
            (corpus_dir / "added.txt").unlink()

        load_index(address)  # the client opened and the collections loaded, as in a running app
        for step, change in (("add", add), ("edit", edit), ("remove", remove)):
            change()
            prof = cProfile.Profile() if store == "milvus" else None
            t = time.perf_counter()
            if prof:
                prof.enable()
            rep = build_index([corpus_dir], address, emb, **QUIET, **opts)
            if prof:
                prof.disable()
            secs = time.perf_counter() - t
            r = {"seconds": round(secs, 2), "mode": rep.mode, "embedded": rep.embedded,
                 "stages": {k: round(v, 2) for k, v in rep.seconds.items()}}
            out["steps"].setdefault(step, {})[store] = r
            print(f"[{store}] {step}: {r}", flush=True)
            if prof:
                path = args.out.with_name(f"milvus_update_{step}.prof")
                prof.dump_stats(path)
                for key in ("tottime", "cumulative"):
                    print(f"--- {step}, top {args.top} by {key}")
                    pstats.Stats(prof).sort_stats(key).print_stats(args.top)
        idx = load_index(address)
        out.setdefault("final", {})[store] = {"chunks": len(idx.chunks), "ntotal": idx.store.ntotal}
    for step, r in out["steps"].items():
        r["ratio_milvus_over_faiss"] = round(r["milvus"]["seconds"] / max(1e-6, r["faiss"]["seconds"]), 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out["steps"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
