"""What a build embeds: a set of documents planned as items (their chunks, and their sentences with the
article context they are embedded with), each item's embed key (vectors are reused by key across
builds and stores), the vectors of the items not already held (checkpointed, so a killed build
resumes), and the items' BM25 tokens.  Shared by every build: the folder rebuild and append
(``qa.index``) and the Milvus update and new generation (``qa.stores.milvus_store``)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .chunks import Chunk, Sentence, articles_of, chunk_article, make_splitter, sentences_of
from .sources import Document


def embed_key(chunk: Chunk) -> str:
    return hashlib.sha1(f"{chunk.context}\n{chunk.text}".encode("utf-8")).hexdigest()


def sentence_key(title: str, s: Sentence) -> str:
    return hashlib.sha1(f"S\n{title}\n{s.text}".encode("utf-8")).hexdigest()


@dataclass
class Items:
    """What a set of documents contributes: chunks, sentences, and everything to embed."""

    chunks: list[Chunk]
    sentences: list[Sentence]
    keys: list[str]
    texts: list[str]
    contexts: list[str]
    per_source: dict[str, dict]


def plan_items(docs: Sequence[Document], chunk_size: int, chunk_overlap: int, with_sentences: bool) -> Items:
    splitter = make_splitter(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    sentence_context: list[str] = []
    per_source: dict[str, dict] = {}
    for d in docs:
        n_before = len(chunks)
        for art in articles_of(d):
            chunks.extend(chunk_article(art, splitter))
            if with_sentences:
                ss = sentences_of(art)
                sentences.extend(ss)
                ctx = " ".join(x for x in (art.title, art.byline) if x)
                sentence_context.extend([ctx] * len(ss))
        per_source[d.source] = {"sha256": d.sha256, "chunks": len(chunks) - n_before}
    keys = [embed_key(c) for c in chunks] + [sentence_key(ctx, x) for ctx, x in zip(sentence_context, sentences)]
    texts = [c.text for c in chunks] + [x.text for x in sentences]
    contexts = [c.context for c in chunks] + sentence_context
    return Items(chunks, sentences, keys, texts, contexts, per_source)


def embed_items(items: Items, old_vecs: dict, embedder, index_dir: Path, progress: bool, log) -> tuple[np.ndarray, int]:
    """Vectors for every item: reused from ``old_vecs`` or an interrupted build's checkpoint, else
    embedded (checkpointed every ``Checkpoint.EVERY`` items).  Returns (vectors, number embedded)."""
    keys, texts, ctxs = items.keys, items.texts, items.contexts
    vecs = np.zeros((len(keys), embedder.dim), np.float32)
    todo = []
    for i, k in enumerate(keys):
        if k in old_vecs:
            vecs[i] = old_vecs[k]
        else:
            todo.append(i)
    checkpoint = Checkpoint(index_dir, embedder.fingerprint, embedder.dim)
    if todo:
        saved = checkpoint.load()  # vectors a killed build already paid for
        if saved:
            still = []
            for i in todo:
                v = saved.get(keys[i])
                if v is None:
                    still.append(i)
                else:
                    vecs[i] = v
            log(f"resuming: {len(todo) - len(still)} vectors from an interrupted build")
            todo = still
    if todo:
        n_chunks_todo = sum(1 for i in todo if i < len(items.chunks))
        bar = progress_bar(len(todo), f"embedding {n_chunks_todo} chunks + {len(todo) - n_chunks_todo} sentences",
                            progress)
        for b0 in range(0, len(todo), Checkpoint.EVERY):
            part = todo[b0:b0 + Checkpoint.EVERY]
            vecs[part] = embedder.encode_documents([texts[i] for i in part], [ctxs[i] for i in part],
                                                   progress=bar.update)
            if len(todo) > Checkpoint.EVERY:
                checkpoint.save([keys[i] for i in part], vecs[part])
        bar.close()
    return vecs, len(todo)


def reusable_tokens(previous: dict | None, chunking: dict, old_tokens: dict[str, str]) -> dict[str, str]:
    """The BM25 words of a previous build (by embed key) a new build may keep: all of them when both
    were cut by the same tokenizer (``chunking["tokenizer"]``, ``qa.tokens.fingerprint``), else none
    (a term added to ``domain_words.txt`` changes how every text containing it is cut)."""
    same = (previous or {}).get("tokenizer") == chunking.get("tokenizer")
    return old_tokens if same else {}


def item_tokens(items: Items, old_tokens: dict[str, str]) -> list[str]:
    from .tokens import tokenize

    n = len(items.chunks)
    out = []
    for i, (k, c, x) in enumerate(zip(items.keys, items.contexts, items.texts)):
        t = old_tokens.get(k)
        out.append(t if t is not None else " ".join(tokenize(f"{c}\n{x}" if i < n else x)))
    return out


def prepare_items(docs: Sequence[Document], chunking: dict, old_vecs: dict, old_tokens: dict, embedder,
                  checkpoint_dir: Path, progress: bool, log, timings: dict) -> tuple[Items, np.ndarray, int, list[str]]:
    """The steps every build shares (folder rebuild and append, Milvus update and new generation):
    chunk ``docs`` (``chunking``: size, overlap, sentences), embed what ``old_vecs`` does not already
    hold (checkpointed in ``checkpoint_dir``) and tokenise, each step timed into ``timings``.
    Returns the items, their vectors, how many were embedded and their tokens."""
    t0 = time.perf_counter()
    items = plan_items(docs, chunking["size"], chunking["overlap"], chunking["sentences"])
    timings["chunk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    vecs, embedded = embed_items(items, old_vecs, embedder, checkpoint_dir, progress, log)
    timings["embed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tokens = item_tokens(items, old_tokens)
    timings["tokenize"] = time.perf_counter() - t0
    return items, vecs, embedded, tokens

class Checkpoint:
    """Vectors embedded so far by a build, saved beside the index (``.NAME.partial/``) in parts of
    ``EVERY`` items, so a killed build of a large corpus resumes instead of starting over.  Only parts
    made with the same model fingerprint and dimension are reused; the folder goes once a build lands."""

    EVERY = 1024

    def __init__(self, index_dir: Path, fingerprint: str, dim: int):
        self.dir = index_dir.parent / f".{index_dir.name}.partial"
        self.fingerprint, self.dim = fingerprint, dim

    def load(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for meta in sorted(self.dir.glob("part-*.json")):
            try:
                info = json.loads(meta.read_text(encoding="utf-8"))
                if info.get("fingerprint") != self.fingerprint:
                    continue
                arr = np.load(meta.with_suffix(".npy"), allow_pickle=False)
                if arr.shape != (len(info["keys"]), self.dim):
                    continue
                out.update(zip(info["keys"], arr))
            except (OSError, ValueError, KeyError):
                continue  # a part cut short by the kill: ignore it
        return out

    def save(self, keys: list[str], vectors: np.ndarray) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        n = len(list(self.dir.glob("part-*.json")))
        stem = self.dir / f"part-{n:06d}-{os.getpid()}"
        np.save(f"{stem}.npy", vectors.astype(np.float32), allow_pickle=False)
        tmp = Path(f"{stem}.json.tmp")  # the .json appears only once the .npy is complete
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "keys": keys}), encoding="utf-8")
        os.replace(tmp, f"{stem}.json")

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk", dynamic_ncols=True)
