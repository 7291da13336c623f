#!/usr/bin/env python3
"""Check an eval question file against the bulletins: fields, unique ids and questions, every gold
string and fact verbatim in a bulletin (whitespace ignored), every fact inside a gold string or in
the sentence that holds one, unanswerable items without gold or facts.

    python scripts/check_eval.py eval/questions.jsonl [--corpus seeds]
Exit 1 (with one line per problem) when anything fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

KINDS = {"worker", "staff", "unanswerable"}


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def check(path: Path, corpus: Path) -> list[str]:
    texts = [squash(p.read_text(encoding="utf-8-sig")) for p in sorted(corpus.glob("*.txt"))]
    sentences = [s for t in texts for s in re.split(r"(?<=[。！？!?])", t)]
    problems, ids, questions = [], set(), set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            d = json.loads(line)
        except ValueError as e:
            problems.append(f"{where}: not JSON ({e})")
            continue
        missing = [f for f in ("id", "kind", "q", "gold", "facts") if f not in d]
        if missing:
            problems.append(f"{where}: missing {missing}")
            continue
        where = f"{where} {d['id']}"
        if d["id"] in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(d["id"])
        if d["q"] in questions:
            problems.append(f"{where}: duplicate question")
        questions.add(d["q"])
        if d["kind"] not in KINDS:
            problems.append(f"{where}: kind {d['kind']!r}")
        if d["kind"] == "unanswerable":
            if d["gold"] or d["facts"]:
                problems.append(f"{where}: unanswerable item with gold or facts")
            continue
        if not d["gold"]:
            problems.append(f"{where}: answerable item without gold")
        for g in d["gold"]:
            if not any(squash(g) in t for t in texts):
                problems.append(f"{where}: gold {g!r} is in no bulletin")
        for f in d["facts"]:
            f2 = squash(f)
            if not any(f2 in squash(g) for g in d["gold"]) and not any(
                    f2 in s and any(squash(g) in s or s in squash(g) for g in d["gold"]) for s in sentences):
                problems.append(f"{where}: fact {f!r} is neither in a gold string nor in its sentence")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parent.parent / "seeds")
    args = ap.parse_args()
    problems = check(args.file, args.corpus)
    for p in problems:
        print(p)
    print(f"{args.file}: {'ok' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
