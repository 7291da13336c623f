"""Tuning: fit the answerability model on the tune questions and choose its operating point.

``python -m qa tune eval/tune.jsonl`` asks every question once (and the off-domain background
questions of ``qa/data/background_questions.txt``, as unanswerable), reads the evidence each answer
carries (``Answer.support``), fits a logistic regression (scikit-learn, balanced classes) on it, and
picks the threshold from 5-fold cross-validated probabilities on the same tune questions — the
answered share must keep answerable questions refused at or under ``max_false_refusals`` (2%), and
among those thresholds the one refusing most unanswerable questions wins.  Questions refused by
the vetoes (a missing name, an asked detail the answer lacks) are left out of the fit: the model
decides only what they leave open.  The few numbers are
written to ``qa/data/answerability.json``; held-out questions are never read here.

``tradeoff`` gives the curve (answerable refused against unanswerable refused) for any set of answers.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from .answerability import AnswerabilityModel

# the evidence the model is fitted on, chosen on the tune questions (5-fold, answerable refused <= 2%):
# z_passage + hub refused 66 of 74 unanswerable, z_passage + z_sentence 55, all three 65
FIT_FEATURES = ("z_passage", "hub")
from .wordlists import DATA_DIR


def _evidence(support: dict):
    from .answerability import Evidence

    return Evidence(support["z_passage"], support["z_sentence"], support["hub"], support["coverage"], support["answer_coverage"],
                    support["gap"], support["known"], support["slot"], support["slot_found"], tuple(support["missing"]))


def tradeoff(items, answers, thresholds=None, model: AnswerabilityModel | None = None) -> list[dict]:
    """For each threshold: answerable refused and unanswerable refused (counts and shares).  A
    question naming something no bulletin mentions, or whose asked detail the answer lacks, is
    refused at every threshold."""
    probs = []
    for a in answers:
        ev = _evidence(a.support)
        p = model.probability(ev) if model is not None else a.support.get("p", 0.0)
        probs.append((p, bool(ev.missing) or ev.detail_missing))
    scores = [-1.0 if blocked else p for p, blocked in probs]
    ans = [p for p, it in zip(scores, items) if it.kind != "unanswerable"]
    una = [p for p, it in zip(scores, items) if it.kind == "unanswerable"]
    out = []
    for t in thresholds if thresholds is not None else np.round(np.arange(0.05, 0.96, 0.05), 2):
        t = float(t)  # plain numbers: the curve is printed as JSON (qa eval --curve --json)
        ar = sum(p < t for p in ans)
        ur = sum(p < t for p in una)
        out.append({"threshold": t, "answerable_refused": ar, "answerable_refused_share": round(ar / max(1, len(ans)), 4),
                    "unanswerable_refused": ur, "unanswerable_refused_share": round(ur / max(1, len(una)), 4)})
    return out


def choose_threshold(y: np.ndarray, p: np.ndarray, blocked: np.ndarray, max_false_refusals: float) -> float:
    """The highest threshold whose answerable-refused share stays within ``max_false_refusals``."""
    best = 0.0
    pos = y == 1
    for t in np.unique(np.concatenate([p[~blocked], [0.0]])):
        refused = (p < t) | blocked
        if refused[pos].mean() <= max_false_refusals:
            best = max(best, float(t))
    # halfway to the next probability below it, so the point is not on a training example
    below = p[(p < best) & ~blocked]
    return round((best + below.max()) / 2, 4) if len(below) else round(best, 4)


def fit(items, answers, *, max_false_refusals: float = 0.02, out: Path | None = None, log=print) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    evidence = [_evidence(a.support) for a in answers]
    X = np.array([ev.vector(FIT_FEATURES) for ev in evidence], np.float64)
    y = np.array([0 if it.kind == "unanswerable" else 1 for it in items])
    blocked = np.array([bool(ev.missing) or ev.detail_missing for ev in evidence])  # refused by step 2 anyway
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    open_ = ~blocked  # the model decides only what the vetoes leave open
    p_cv = np.zeros(len(y))
    p_cv[open_] = cross_val_predict(clf, X[open_], y[open_], cv=cv, method="predict_proba")[:, 1]
    threshold = choose_threshold(y, p_cv, blocked, max_false_refusals)
    clf.fit(X[open_], y[open_])
    model = {
        "_source": (f"Fitted by `python -m qa tune` on {len(items)} tune questions ({int(y.sum())} answerable, "
                    f"{int((1 - y).sum())} unanswerable) on {date.today().isoformat()}: logistic regression "
                    f"(scikit-learn, balanced classes, C=1); threshold from 5-fold cross-validated probabilities, "
                    f"the highest keeping answerable refused <= {max_false_refusals:.0%}."),
        "weights": {f: round(float(w), 5) for f, w in zip(FIT_FEATURES, clf.coef_[0])},
        "bias": round(float(clf.intercept_[0]), 5),
        "threshold": threshold,
    }
    refused = (p_cv < threshold) | blocked
    log(f"tune (cross-validated): answerable refused {int(refused[y == 1].sum())}/{int((y == 1).sum())}, "
        f"unanswerable refused {int(refused[y == 0].sum())}/{int((y == 0).sum())} at threshold {threshold}")
    for f, w in model["weights"].items():
        log(f"  {f:<15} {w:+.3f}")
    log(f"  {'bias':<15} {model['bias']:+.3f}")
    if out is not None:
        Path(out).write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        log(f"wrote {out}")
    return model


DEFAULT_OUT = DATA_DIR / "answerability.json"
