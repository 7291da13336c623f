"""LLM mode: answers written by any OpenAI-compatible chat endpoint, then checked like extractive ones.

Configuration: ``QA_LLM_BASE_URL`` (e.g. http://127.0.0.1:8000/v1), ``QA_LLM_MODEL``, ``QA_LLM_API_KEY``
(optional), or the ``LLMClient`` arguments.  Prompts come from ``prompts/`` and use the fixed
placeholders ``{question}`` and ``{context}``; retrieved passages are inserted as a JSON array, quoted
data that the system prompt tells the model never to obey.

Every sentence the model writes must carry ``[n]`` markers and be supported by passage n: its numbers
must occur in the passage, and its words or its meaning must match one of the passage's sentences
(term overlap ≥ 0.5 or embedding cosine ≥ 0.75).  Supported sentences get a citation pointing at the
best-matching sentence of the passage; unsupported ones are dropped.  If nothing survives, or the
endpoint fails or times out, the caller falls back to the extractive answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .errors import LLMError

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
PLACEHOLDERS = ("{question}", "{context}")


def load_prompt(name: str, prompts_dir: Path | None = None) -> str:
    path = Path(prompts_dir or os.environ.get("QA_PROMPTS_DIR") or PROMPTS) / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise LLMError(f"prompt {path} is missing ({e.strerror})") from None


def render(template: str, question: str, context: str) -> str:
    """Fill the fixed placeholders; any other braces in the template stay as they are."""
    return template.replace("{question}", question).replace("{context}", context)


def passages_json(hits) -> str:
    rows = [{"n": i, "title": h.chunk.title, "text": h.chunk.text} for i, h in enumerate(hits, 1)]
    return json.dumps(rows, ensure_ascii=False, indent=1)


class LLMClient:
    def __init__(self, base_url: str, model: str, api_key: str = "", *, timeout: float = 30.0,
                 prompts_dir: Path | None = None, embedder=None):
        if not base_url:
            raise LLMError("no LLM endpoint: set QA_LLM_BASE_URL (an OpenAI-compatible /v1 URL)")
        self.base_url = base_url.rstrip("/")
        self.model = model or "default"
        self.api_key = api_key
        self.timeout = timeout
        self.prompts_dir = prompts_dir
        self.embedder = embedder

    @classmethod
    def from_env(cls, **kwargs) -> "LLMClient":
        return cls(os.environ.get("QA_LLM_BASE_URL", ""), os.environ.get("QA_LLM_MODEL", ""),
                   os.environ.get("QA_LLM_API_KEY", ""), **kwargs)

    # -- transport
    def _request(self, messages: list[dict], stream: bool):
        body = json.dumps({"model": self.model, "messages": messages, "stream": stream, "temperature": 0}).encode()
        req = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})})
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            detail = e.read(500).decode("utf-8", "replace")
            raise LLMError(f"HTTP {e.code} from {self.base_url}: {detail}") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as e:
            raise LLMError(f"cannot reach {self.base_url}: {getattr(e, 'reason', e)}") from None

    @contextlib.contextmanager
    def _reading(self, resp):
        """Map read-time failures of a response to LLMError and always close it."""
        try:
            yield resp
        except (socket.timeout, TimeoutError) as e:
            raise LLMError(f"timed out after {self.timeout}s") from e
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise LLMError(f"unexpected response from {self.base_url}: {e}") from None
        finally:
            resp.close()

    def chat_stream(self, messages: list[dict]) -> Iterator[str]:
        """Text deltas of a streamed chat completion (server-sent events)."""
        with self._reading(self._request(messages, stream=True)) as resp:
            if "text/event-stream" not in resp.headers.get("Content-Type", ""):  # a server ignoring stream=true
                yield json.loads(resp.read().decode("utf-8"))["choices"][0]["message"]["content"] or ""
                return
            for raw in resp:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                delta = json.loads(payload)["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta

    def chat(self, messages: list[dict]) -> str:
        with self._reading(self._request(messages, stream=False)) as resp:
            return json.loads(resp.read().decode("utf-8"))["choices"][0]["message"]["content"] or ""

    # -- uses
    def condense(self, question: str, history: Sequence, *, fallback: str) -> str:
        turns = [t for t in history or () if isinstance(t, dict)]
        context = json.dumps(turns[-6:], ensure_ascii=False)
        try:
            out = self.chat([{"role": "user", "content": render(load_prompt("condense.txt", self.prompts_dir),
                                                                 question, context)}]).strip()
        except LLMError:
            return fallback
        return out.splitlines()[0].strip() if out and len(out) <= 400 else fallback

    def answer_stream(self, question: str, hits, index) -> Iterator:
        """Yield text deltas, then the verified ``Answer`` (raises LLMError when nothing verifies)."""
        from .records import Answer

        messages = [
            {"role": "system", "content": load_prompt("answer_system.txt", self.prompts_dir)},
            {"role": "user", "content": render(load_prompt("answer_user.txt", self.prompts_dir), question,
                                               passages_json(hits))},
        ]
        text = ""
        for delta in self.chat_stream(messages):
            text += delta
            yield delta
        parts, citations = verify_llm_text(text, hits, index, self.embedder)
        if not parts:
            raise LLMError("the model's answer had no sentence supported by the passages")
        yield Answer(question, "".join(parts), tuple(citations), tuple(hits), mode="llm")


OVERLAP_MIN = 0.5  # share of the sentence's words found in a passage sentence
COSINE_MIN = 0.75  # or: cosine to a passage sentence with the embedding model


def _support(sentence: str, sents: list[int], index, embedder) -> tuple[bool, int]:
    """(supported, best sentence id) of ``sentence`` against the passage sentences ``sents``."""
    from .tokens import tokenize

    words = {w for w in tokenize(sentence) if len(w) >= 2 or w.isdigit()}
    vec = embedder.encode_queries([sentence])[0] if embedder is not None and index.sentence_vectors is not None else None
    best, best_sid, ok = -1.0, -1, False
    for sid in sents:
        toks = set(index.sentence_tokens(sid))
        overlap = len(words & toks) / len(words) if words else 0.0
        cos = float(index.sentence_vectors[sid].astype(np.float32) @ vec) if vec is not None else 0.0
        good = overlap >= OVERLAP_MIN or cos >= COSINE_MIN
        rank = overlap + cos
        if (good, rank) > (ok, best):
            best, best_sid, ok = rank, sid, good
    return ok, best_sid


def verify_llm_text(text: str, hits, index, embedder=None) -> tuple[list[str], list]:
    """Keep the sentences of ``text`` whose [n] passages support them; return (parts, citations)."""
    from .records import Citation

    by_chunk = index.sentence_ids_by_chunk()
    parts, citations, seen = [], [], {}
    for m in re.finditer(r"[^。！？!?\n]*?(?:[。！？!?]|\n|$)\s*(?:\[\d+\]\s*)*", text):
        piece = m.group().strip()
        if not piece:
            continue
        marks = [int(x) for x in re.findall(r"\[(\d+)\]", piece)]
        body = re.sub(r"\[\d+\]", "", piece).strip()
        if not marks or not body:
            continue  # uncited sentences are not shown as fact
        kept_marks = []
        for n in marks:
            if not 1 <= n <= len(hits):
                continue
            chunk = hits[n - 1].chunk
            numbers = re.findall(r"\d+(?:\.\d+)?", body)
            if any(x not in chunk.text for x in numbers):
                continue  # a figure not in the passage is not supported
            sents = by_chunk.get(chunk.id, [])
            ok, sid = _support(body, sents, index, embedder) if sents else (False, -1)
            if not ok:
                continue
            s = index.sentences[sid]
            key = (s.source, s.start, s.end)
            if key not in seen:
                cited = index.texts.get(s.source, "")[s.start:s.end]
                seen[key] = Citation(len(citations) + 1, s.source, index.article_title(s.source, s.article),
                                     s.start, s.end, cited, page=index.page_of(s.source, s.start))
                citations.append(seen[key])
            kept_marks.append(seen[key].n)
        if kept_marks:
            parts.append(body + "".join(f"[{n}]" for n in dict.fromkeys(kept_marks)))
    return parts, citations
