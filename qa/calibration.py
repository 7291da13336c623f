"""Refusal calibration data: the background questions (off-domain, and in-domain for each sentence's
reach) and the background's top-hit cosines against a corpus, which ``qa.answerability`` reads as
"what nothing relevant scores" for this model and corpus.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np


def background_questions(name: str = "background_questions") -> list[str]:
    """The off-domain background questions (or, with ``name="domain_questions"``, the in-domain ones)."""
    path = Path(__file__).with_name("data") / f"{name}.txt"
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


def domain_questions() -> tuple[list[str], str]:
    """The in-domain background questions and their sha256, which an index records so that it
    re-embeds them only when they (or the model) change."""
    questions = background_questions("domain_questions")
    return questions, hashlib.sha256("\n".join(questions).encode("utf-8")).hexdigest()


def embed_domain(embedder, questions: list[str], log=print) -> np.ndarray:
    """The in-domain background questions' vectors, as stored in an index (float16)."""
    log(f"embedding {len(questions)} in-domain background questions")
    return embedder.encode_queries(questions).astype(np.float16)


def calibration(background: np.ndarray, chunk_vectors: np.ndarray, tops: np.ndarray | None = None) -> dict:
    """Top-hit cosines of off-domain background questions against this corpus.

    Their mean and spread say what "nothing relevant" scores for this model and corpus; the
    answerer refuses questions whose best match does not rise well above it (see qa.answer).
    ``tops``: the questions' best cosines so far (an appended segment can only raise them)."""
    if len(chunk_vectors) and len(background):
        new = (background @ chunk_vectors.T).max(axis=1)
        tops = new if tops is None else np.maximum(tops, new)
    if tops is None or not len(tops):
        return {"background_mean": 0.0, "background_std": 1.0, "background_max": 0.0, "n": 0, "tops": []}
    return {"background_mean": round(float(tops.mean()), 5), "background_std": round(max(float(tops.std()), 1e-3), 5),
            "background_max": round(float(tops.max()), 5), "n": len(tops),
            "tops": [round(float(x), 6) for x in tops]}


