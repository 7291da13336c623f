"""Feedback: 👍/👎 votes from the page, appended to ``feedback.jsonl`` without letting one client fill the disk.

- Written from a background thread, so the chat never waits on disk.
- **Per-client rate limit**: at most ``per_minute`` votes per client (the page session or the remote
  address) in any 60 s; more are dropped and counted (``dropped``).
- **Size cap with rotation**: when ``feedback.jsonl`` would pass ``max_bytes`` it becomes
  ``feedback.jsonl.1`` (``.1`` → ``.2`` …, ``keep`` files in all), so the log stays bounded.
- One entry is capped at ``max_entry_chars`` characters per text field (a huge question is cut, not stored).
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from pathlib import Path

log = logging.getLogger("gonghui-qa")


def _cap(value, limit: int):
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if isinstance(value, list):
        return [_cap(v, limit) for v in value[:20]]
    if isinstance(value, dict):
        return {k: _cap(v, limit) for k, v in list(value.items())[:20]}
    return value


class FeedbackLog:
    def __init__(self, data_dir: str | Path, *, per_minute: int = 20, max_bytes: int = 5_000_000, keep: int = 3,
                 max_entry_chars: int = 2000):
        if per_minute < 1 or max_bytes < 1024 or keep < 1:
            raise ValueError("per_minute ≥ 1, max_bytes ≥ 1024 and keep ≥ 1 are needed")
        self.path = Path(data_dir) / "feedback.jsonl"
        self.per_minute = per_minute
        self.max_bytes = max_bytes
        self.keep = keep
        self.max_entry_chars = max_entry_chars
        self.dropped = 0
        self._lock = threading.Lock()
        self._recent: dict[str, collections.deque] = {}

    def allow(self, client: str) -> bool:
        """Count one vote from ``client``; False when it is over its rate."""
        now = time.monotonic()
        with self._lock:
            q = self._recent.setdefault(client or "?", collections.deque())
            while q and now - q[0] > 60:
                q.popleft()
            if len(q) >= self.per_minute:
                self.dropped += 1
                return False
            q.append(now)
            if len(self._recent) > 10_000:  # forget idle clients
                for k in [k for k, v in self._recent.items() if not v or now - v[-1] > 60]:
                    del self._recent[k]
            return True

    def record(self, entry: dict, client: str = "") -> threading.Thread | None:
        """Append ``entry`` unless ``client`` is over its rate; returns the writing thread (or None)."""
        if not self.allow(client):
            return None
        line = json.dumps(_cap(entry, self.max_entry_chars), ensure_ascii=False) + "\n"

        def write():
            try:
                with self._lock:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    size = self.path.stat().st_size if self.path.exists() else 0
                    if size and size + len(line.encode()) > self.max_bytes:
                        self._rotate()
                    with open(self.path, "a", encoding="utf-8") as f:
                        f.write(line)
            except OSError:
                log.exception("could not write feedback to %s", self.path)

        t = threading.Thread(target=write, daemon=True)
        t.start()
        return t

    def _numbered(self, i: int) -> Path:
        """``feedback.jsonl`` for 0, ``feedback.jsonl.<i>`` for an older rotated file."""
        return self.path.with_name(f"{self.path.name}.{i}") if i else self.path

    def files(self) -> list[Path]:
        """The log and its rotated files that exist, newest first."""
        return [p for p in map(self._numbered, range(self.keep)) if p.exists()]

    def _rotate(self) -> None:
        """Drop the oldest file and shift the others up one number (the log itself becomes ``.1``)."""
        self._numbered(self.keep - 1).unlink(missing_ok=True)
        for i in range(self.keep - 2, -1, -1):
            if self._numbered(i).exists():
                self._numbered(i).replace(self._numbered(i + 1))
