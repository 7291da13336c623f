#!/usr/bin/env python3
"""Split eval/questions.jsonl once, with a fixed seed, into eval/tune.jsonl and eval/heldout.jsonl:
half of each (bulletin, kind) group to each side.  Every threshold, weight and word-table entry is
chosen on tune; README reports held-out.  Run once; re-running gives the same split.
"""

import json
import random
from pathlib import Path

SEED = 20261121
root = Path(__file__).resolve().parent.parent / "eval"
items = [json.loads(line) for line in (root / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
groups: dict[tuple, list] = {}
for d in items:
    groups.setdefault((d["id"].split("-")[0], d["kind"]), []).append(d)
rng = random.Random(SEED)
tune, held = [], []
for key in sorted(groups):
    g = groups[key][:]
    rng.shuffle(g)
    half = (len(g) + 1) // 2 if rng.random() < 0.5 else len(g) // 2
    tune += g[:half]
    held += g[half:]
for name, part in (("tune", tune), ("heldout", held)):
    part.sort(key=lambda d: d["id"])
    (root / f"{name}.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in part), encoding="utf-8")
    kinds = {k: sum(1 for d in part if d["kind"] == k) for k in ("worker", "staff", "unanswerable")}
    print(name, len(part), kinds)
