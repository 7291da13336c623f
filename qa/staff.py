"""Staff tasks behind the page's 管理 tab (no gradio here): bulletins uploaded from the page, stored
under safe names and added to the index as a delta segment; the indexed bulletins listed, and an
uploaded one removed; the 👎 answers of the feedback log, newest first, as rows and as CSV.

Nothing here is reachable unless the app is started with ``QA_ADMIN_PASSWORD`` set.  The password is
compared in constant time, and a client gets ``LOGIN_TRIES`` tries a minute.  A signed-in page gets a
random token (``StaffAccess.issue``) that the HTTP guard asks of every upload request, so Gradio's
upload route stays closed to everyone else.

Uploaded files go to ``<data dir>/uploads/`` as ``<cleaned name>-<first 10 hex of the sha256>.<suffix>``:
only the last part of the name the browser sent is read, and only letters, digits, CJK and ``-_`` of it
are kept, so no path from the client is ever used as a path.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import threading
import time
from pathlib import Path

from .errors import SourceError
from .index import build_index, load_index, own_sources
from .sources import READ_BY_READERS, max_source_bytes

UPLOAD_SUFFIXES = (".txt", *READ_BY_READERS)
LOGIN_TRIES = 5  # wrong passwords a client may send in a minute
TOKEN_HOURS = 12


def admin_password() -> str:
    """``QA_ADMIN_PASSWORD``; empty means the 管理 tab is not built at all."""
    return os.environ.get("QA_ADMIN_PASSWORD", "")


class StaffAccess:
    """Password check with a per-client rate, and the upload tokens of signed-in pages."""

    def __init__(self, password: str):
        if not password:
            raise ValueError("a staff password is needed")
        self._password = password.encode("utf-8")
        self._tries: dict[str, collections.deque] = {}
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, password: str, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._tries.setdefault(client or "?", collections.deque())
            while q and now - q[0] > 60:
                q.popleft()
            if len(q) >= LOGIN_TRIES:
                return False
            ok = hmac.compare_digest(self._password, (password or "").encode("utf-8"))
            if not ok:
                q.append(now)
            return ok

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.time()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + TOKEN_HOURS * 3600
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            exp = self._tokens.get(token or "")
        return exp is not None and exp > time.time()

    def upload_allowed(self, scope: dict) -> bool:
        """For ``qa.http_guard``: does this request carry a signed-in page's token (cookie ``qa_staff``)?"""
        for name, value in scope.get("headers") or []:
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == "qa_staff" and self.valid(v):
                        return True
        return False


def safe_name(client_name: str, data: bytes) -> str:
    """``<cleaned stem>-<sha256[:10]>.<suffix>`` from the name the browser sent (its last part only)."""
    base = re.split(r"[\\/]", client_name or "")[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    suffix = suffix.lower()
    if f".{suffix}" not in UPLOAD_SUFFIXES:
        raise SourceError(f"{base[:60]}: not a bulletin file (expected {', '.join(UPLOAD_SUFFIXES)})")
    stem = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff_-]+", "_", stem).strip("_-")[:60] or "bulletin"
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:10]}.{suffix}"


class Staff:
    """The index's bulletins as staff see them, and the changes they make from the page."""

    def __init__(self, index_dir: str | os.PathLike, data_dir: str | os.PathLike, embedder, feedback_files):
        self.index_dir = Path(index_dir)
        self.uploads = Path(data_dir) / "uploads"
        self.embedder = embedder
        self.feedback_files = feedback_files  # () -> the feedback log's files, newest first
        self._lock = threading.Lock()  # one change at a time from the page (builds also lock the index folder)

    # -- bulletins
    def store(self, files: list[tuple[str, Path]]) -> list[Path]:
        """Copy uploaded files (name the browser sent, where Gradio put it) under safe names."""
        self.uploads.mkdir(parents=True, exist_ok=True)
        out = []
        for client_name, tmp in files:
            data = Path(tmp).read_bytes()
            if len(data) > max_source_bytes():
                raise SourceError(f"{client_name[:60]}: {len(data) / 2**20:.1f} MB is over the limit per file "
                                  "(QA_MAX_SOURCE_MB)")
            dest = self.uploads / safe_name(client_name, data)
            if not dest.exists():
                part = dest.with_name(f".{dest.name}.part")
                part.write_bytes(data)
                os.replace(part, dest)
            out.append(dest)
        return out

    def sources(self) -> list[str]:
        """What the index is built from: its recorded sources and the upload folder."""
        own = [s for s in own_sources(self.index_dir) if Path(s).resolve() != self.uploads.resolve()]
        return own + ([str(self.uploads)] if self.uploads.is_dir() else [])

    def rebuild(self, log=lambda *_: None, progress: bool = False):
        """Bring the index up to date with its sources (new uploads: a delta segment; a removed one: a
        rewrite that reuses every vector); returns the build report and the loaded index."""
        with self._lock:
            report = build_index(self.sources(), self.index_dir, self.embedder, progress=progress, log=log)
            return report, load_index(self.index_dir)

    def remove(self, name: str) -> Path:
        """Delete an uploaded bulletin (by its stored file name); the next ``rebuild`` drops it."""
        target = (self.uploads / Path(name).name).resolve()
        if target.parent != self.uploads.resolve() or not target.is_file():
            raise SourceError(f"{name}: not an uploaded bulletin")
        target.unlink()
        return target

    def bulletins(self, index) -> list[dict]:
        """One row per indexed bulletin: file, when it was added (its file's time), articles, chunks,
        and whether it was uploaded from the page (only those can be removed there)."""
        arts = collections.Counter(src for src, _ in index.articles())
        uploads = self.uploads.resolve()
        rows = []
        for src, info in sorted(index.manifest.get("sources", {}).items()):
            path = Path(src.partition("#")[0])
            try:
                added = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
            except OSError:
                added = ""
            rows.append({"file": path.name, "source": src, "added": added, "articles": arts.get(src, 0),
                         "chunks": info.get("chunks", 0), "uploaded": path.resolve().parent == uploads})
        return rows

    # -- 👎 answers
    def thumbs_down(self, limit: int = 500) -> list[dict]:
        """The 👎 entries of the feedback log, newest first."""
        rows = []
        for f in self.feedback_files():
            try:
                lines = f.read_text(encoding="utf-8").splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if isinstance(e, dict) and e.get("vote") == "down":
                    rows.append(e)
        rows.sort(key=lambda e: str(e.get("time", "")), reverse=True)
        return rows[:limit]


def citation_text(citations) -> str:
    """Citations of a feedback entry as one line each: "[n] file 第 N 页: text"."""
    out = []
    for c in citations or []:
        if isinstance(c, dict):
            page = f" 第 {c['page']} 页" if c.get("page") else ""
            out.append(f"[{c.get('n', '')}] {Path(str(c.get('source', ''))).name}{page}: {c.get('text', '')}")
    return "\n".join(out)


def thumbs_down_csv(rows: list[dict]) -> str:
    """The 👎 answers as CSV for Excel/WPS (formula-looking cells made text, as the case export does)."""
    from .exports import safe_cell

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["time", "question", "answer", "citations"])
    for e in rows:
        w.writerow([safe_cell(str(e.get(k, ""))) for k in ("time", "question", "answer")]
                   + [safe_cell(citation_text(e.get("citations")))])
    return buf.getvalue()
