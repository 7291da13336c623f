"""The query micro-batcher: questions arriving together share forward passes, each caller gets its
own vectors, errors reach every caller of the failed pass, documents pass through."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa.batching import BatchingEmbedder
from qa.embed import HashEmbedder


class SlowEmbedder:
    """A hash embedder whose every call costs ``cost_s`` whatever its size, as a forward pass does;
    it records the size of each call."""

    def __init__(self, cost_s: float = 0.05, fail_on: str | None = None):
        self.inner = HashEmbedder(64)
        self.model_id, self.dim, self.fingerprint = self.inner.model_id, self.inner.dim, self.inner.fingerprint
        self.cost_s, self.fail_on = cost_s, fail_on
        self.calls: list[int] = []
        self._lock = threading.Lock()

    def encode_queries(self, texts):
        with self._lock:  # one forward pass at a time, as on a 2-core CPU
            time.sleep(self.cost_s)
            self.calls.append(len(texts))
            if self.fail_on and any(self.fail_on in t for t in texts):
                raise RuntimeError("model broke")
            return self.inner.encode_queries(texts)

    def encode_documents(self, texts, titles=None, progress=None):
        return self.inner.encode_documents(texts, titles, progress)


QUESTIONS = [f"第{i}个问题：工资被拖欠了找谁?" for i in range(20)]


def _ask_all(emb, qs):
    start = threading.Barrier(len(qs))

    def one(q):
        start.wait()
        return emb.encode_queries([q])

    with ThreadPoolExecutor(len(qs)) as pool:
        return list(pool.map(one, qs))


def test_simultaneous_questions_share_forward_passes_and_get_their_own_vectors():
    slow = SlowEmbedder()
    batched = BatchingEmbedder(slow, window_s=0.01)
    got = _ask_all(batched, QUESTIONS)
    want = HashEmbedder(64).encode_queries(QUESTIONS)
    for g, w in zip(got, want):
        assert g.shape == (1, 64) and np.allclose(g[0], w)
    assert sum(slow.calls) == len(QUESTIONS)
    assert len(slow.calls) <= 5 and batched.passes == len(slow.calls)  # not one pass per question
    # without the batcher: one pass per question
    plain = SlowEmbedder()
    _ask_all(plain, QUESTIONS)
    assert len(plain.calls) == len(QUESTIONS)


def test_a_pass_never_exceeds_max_batch_and_multi_text_calls_stay_together():
    slow = SlowEmbedder(0.02)
    batched = BatchingEmbedder(slow, window_s=0.01, max_batch=4)
    got = _ask_all(batched, QUESTIONS[:12])
    assert max(slow.calls) <= 4 and sum(slow.calls) == 12 and all(g.shape == (1, 64) for g in got)
    many = batched.encode_queries(QUESTIONS[:7])  # one caller's texts larger than max_batch: one pass
    assert many.shape == (7, 64) and slow.calls[-1] == 7


def test_an_error_reaches_every_caller_of_its_pass_and_the_next_pass_works():
    slow = SlowEmbedder(0.02, fail_on="坏")
    batched = BatchingEmbedder(slow, window_s=0.05)
    qs = ["坏问题"] + QUESTIONS[:5]
    errors = 0
    start = threading.Barrier(len(qs))

    def one(q):
        nonlocal errors
        start.wait()
        try:
            batched.encode_queries([q])
        except RuntimeError:
            errors += 1

    with ThreadPoolExecutor(len(qs)) as pool:
        list(pool.map(one, qs))
    assert errors >= 1
    assert batched.encode_queries(["好问题"]).shape == (1, 64)  # not stuck


def test_the_batcher_is_the_same_embedder_to_the_index(tiny_index):
    from qa.retrieve import Retriever

    slow = SlowEmbedder(0.0)
    batched = BatchingEmbedder(slow)
    slow.fingerprint = tiny_index.manifest["model"]["fingerprint"]
    slow.model_id = tiny_index.model_id
    slow.inner = HashEmbedder(128)
    slow.dim = 128
    hits = Retriever(tiny_index, batched).search("货车司机哪里能休息?")
    assert hits and batched.fingerprint == slow.fingerprint
    assert batched.encode_documents(["一段"], [""]).shape == (1, 128)
    with pytest.raises(ValueError):
        BatchingEmbedder(slow, max_batch=0)


def test_the_load_bench_names_its_clients_and_reports_cpu(tmp_path):
    from qa import bench_serve

    with pytest.raises(ValueError, match="client="):
        bench_serve.load(tmp_path, client="browser")  # refused before any app is started
    row = {"batching": True, "users": 50, "errors": 0, "p50_s": 1.5, "p95_s": 2.3, "app_cpu_s": 1.76,
           "client_cpu_s": 0.1}
    table = bench_serve.load_table({"client": "http", "rows": [row]})
    assert "client: http" in table and "1.76 / 0.1" in table
