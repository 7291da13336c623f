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

import dataclasses
import json
from datetime import date
from pathlib import Path

import numpy as np

from .answerability import AnswerabilityModel, Evidence

# the evidence the model is fitted on, chosen on the tune questions (5-fold, answerable refused <= 2%):
# z_passage + hub refused 66 of 74 unanswerable, z_passage + z_sentence 55, all three 65
FIT_FEATURES = ("z_passage", "hub")
from .wordlists import DATA_DIR


def tradeoff(items, answers, thresholds=None, model: AnswerabilityModel | None = None) -> list[dict]:
    """For each threshold: answerable refused and unanswerable refused (counts and shares).  A
    question the model's vetoes refuse (a name no bulletin mentions, the asked detail absent from the
    answer, a case list's subject absent) is refused at every threshold."""
    vetoes = model or AnswerabilityModel.default()
    probs = []
    for a in answers:
        ev = Evidence.from_json(a.support)
        p = model.probability(ev) if model is not None else a.support.get("p", 0.0)
        probs.append((p, bool(vetoes.veto(ev))))
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


def choose_case_topic(items, answers, max_false_refusals: float = 0.02) -> float | None:
    """The case-subject veto's point (``AnswerabilityModel.case_topic_min_z``): the
    ``max_false_refusals`` quantile of the answerable case questions' z_topic (those with a subject,
    not vetoed otherwise), read off a normal fitted to them — a few dozen questions put the empirical
    2% point at their lowest value, which the next questions fall below (a threshold just under the
    tune minimum refused 5 of 268 held-out answerable questions); None without case questions of
    both kinds."""
    from statistics import NormalDist

    other_vetoes = dataclasses.replace(AnswerabilityModel.default(), case_topic_min_z=None)
    rows = []
    for it, a in zip(items, answers):
        ev = Evidence.from_json(a.support)
        if ev.z_topic is not None and not other_vetoes.veto(ev):
            rows.append((float(ev.z_topic), it.kind != "unanswerable"))
    if not any(ok for _, ok in rows) or all(ok for _, ok in rows):
        return None
    z = np.array([r[0] for r in rows if r[1]])
    if len(z) < 2:
        return None
    return round(NormalDist(float(z.mean()), float(z.std(ddof=1))).inv_cdf(max_false_refusals), 4)


def fit(items, answers, *, max_false_refusals: float = 0.02, out: Path | None = None, log=print,
        case_topic_only: bool = False) -> dict:
    """Fit the model (or with ``case_topic_only`` keep the stored one's weights and threshold and
    choose only ``case_topic_min_z``) and write it to ``out``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    stored = json.loads(DEFAULT_OUT.read_text(encoding="utf-8"))
    topic = choose_case_topic(items, answers, max_false_refusals)
    evidence = [Evidence.from_json(a.support) for a in answers]
    y = np.array([0 if it.kind == "unanswerable" else 1 for it in items])
    cases = np.array([ev.z_topic is not None for ev in evidence])
    vetoes = dataclasses.replace(AnswerabilityModel.default(), case_topic_min_z=topic)
    why = [vetoes.veto(ev) for ev in evidence]  # why step 2 refuses each, at the chosen point
    topic_refused = np.array([w == "topic_missing" for w in why])
    log(f"case subject veto: z_topic < {topic} refuses {int(topic_refused[y == 1].sum())}/{int(cases[y == 1].sum())} "
        f"answerable and {int(topic_refused[y == 0].sum())}/{int(cases[y == 0].sum())} unanswerable case questions")
    if case_topic_only:
        model = {**stored, "case_topic_min_z": topic}
        model["_source"] = stored["_source"].split(" case_topic_min_z:")[0] + _topic_source(items, topic, max_false_refusals)
        _write(model, out, log)
        return model
    X = np.array([ev.vector(FIT_FEATURES) for ev in evidence], np.float64)
    blocked = np.array([bool(w) for w in why])  # refused by step 2 anyway
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
        "case_topic_min_z": topic,
        "case_topic_min_idf": stored["case_topic_min_idf"],
        "held_min_idf": stored.get("held_min_idf"),
        "_held_min_idf": stored.get("_held_min_idf", ""),
        "case_word_min_cosine": stored.get("case_word_min_cosine"),
        "_case_word_min_cosine": stored.get("_case_word_min_cosine", ""),
        "shown_detail": stored.get("shown_detail"),
        "_shown_detail": stored.get("_shown_detail", ""),
    }
    model["_source"] += _topic_source(items, topic, max_false_refusals)
    refused = (p_cv < threshold) | blocked
    log(f"tune (cross-validated): answerable refused {int(refused[y == 1].sum())}/{int((y == 1).sum())}, "
        f"unanswerable refused {int(refused[y == 0].sum())}/{int((y == 0).sum())} at threshold {threshold}")
    for f, w in model["weights"].items():
        log(f"  {f:<15} {w:+.3f}")
    log(f"  {'bias':<15} {model['bias']:+.3f}")
    _write(model, out, log)
    return model


def _topic_source(items, topic, max_false_refusals: float) -> str:
    return (f" case_topic_min_z: chosen by `python -m qa tune` on {len(items)} questions (tune and the off-domain background) on {date.today().isoformat()}, "
            f"the {max_false_refusals:.0%} quantile of a normal fitted to the answerable case questions' z_topic (the subject's best sentence among its closest passages; {topic}). "
            f"case_topic_min_idf: a case subject leaves out words this common in the bulletins (idf below it: "
            f"工会 0.2, 职工 0.6, 开展 1.0, 活动 1.3; set by hand, not tuned).")


def _write(model: dict, out: Path | None, log) -> None:
    if out is not None:
        Path(out).write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        log(f"wrote {out}")


DEFAULT_OUT = DATA_DIR / "answerability.json"
