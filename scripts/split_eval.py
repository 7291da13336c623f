#!/usr/bin/env python3
"""Split eval/questions.jsonl once, with a fixed seed, into eval/tune.jsonl and eval/heldout.jsonl:
half of each (bulletin, kind) group to each side.  Every threshold, weight and word-table entry is
chosen on tune; README reports held-out.  Run once; re-running gives the same split.

A later batch is split the same way with its own seed, after the first, so that adding it leaves
the earlier split as it was: the 120 very short questions (ids s-…, 2026-11-23, written by a helper
who read only the bulletins: the first batch had two worker questions under 8 characters), then 140
questions (ids k-…, thirteenth session, written by a helper who read only the bulletins): 60 staff
questions asking for cases or figures without the words 案例/例子 (30 with one gold string per
matching article), 40 worker questions, 40 unanswerable (15 topic present / detail absent, 15
labour-law and social-insurance, 10 staff-style asking for cases no bulletin reports), then 100
questions (ids m-…, fourteenth session, written by a helper who read only the bulletins): 40 staff
case questions phrased without 案例/例子 (31 with gold strings from two or more articles), 20 worker
questions, 40 unanswerable (25 asking for cases of activities no bulletin reports, 15 topic present /
detail absent), then 120 questions (ids p-…, twenty-seventh session, written by a helper who read only
the bulletins): 35 staff (25 about an activity two or more articles report, one gold string per
article), 40 worker (15 under 12 characters), 45 unanswerable (20 staff-style requests for cases of
activities no bulletin reports, phrased variously; 15 topic present / detail absent; 10 labour-law and
social-insurance).
"""

import json
import random
from pathlib import Path

SEED = 20261121
LATER = ((("s",), 20261123), (("k",), 20261124), (("m",), 20261125), (("p",), 20261126))  # the later batches, in order: their id prefixes, their seeds
root = Path(__file__).resolve().parent.parent / "eval"
items = [json.loads(line) for line in (root / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
tune, held = [], []


def prefix(d: dict) -> str:
    return d["id"].split("-")[0]


def split(batch: list, seed: int) -> None:
    groups: dict[tuple, list] = {}
    for d in batch:
        groups.setdefault((prefix(d), d["kind"]), []).append(d)
    rng = random.Random(seed)
    for key in sorted(groups):
        g = groups[key][:]
        rng.shuffle(g)
        half = (len(g) + 1) // 2 if rng.random() < 0.5 else len(g) // 2
        tune.extend(g[:half])
        held.extend(g[half:])


split([d for d in items if not any(prefix(d) in prefixes for prefixes, _ in LATER)], SEED)
for prefixes, seed in LATER:
    split([d for d in items if prefix(d) in prefixes], seed)
for name, part in (("tune", tune), ("heldout", held)):
    part.sort(key=lambda d: d["id"])
    (root / f"{name}.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in part), encoding="utf-8")
    kinds = {k: sum(1 for d in part if d["kind"] == k) for k in ("worker", "staff", "unanswerable")}
    print(name, len(part), kinds)
