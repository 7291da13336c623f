"""Source documents: find bulletin files, decode them, skip what cannot be read (with a warning).

A source is a ``.txt`` bulletin (the whole file is one document), a ``.pdf``, ``.docx``, ``.html`` or
``.htm`` bulletin (one document: the text ``qa.readers`` takes out of it, laid out as a ``.txt``
bulletin), or a ``.jsonl`` file with one ``{"id": …, "title": …, "text": …}`` record per line (each
record is one document, named ``path#id``).  Offsets elsewhere in the package always index into
``Document.text``: for a ``.txt`` file the decoded file content (a UTF-8 BOM is not part of it), for
the other bulletins the extracted text, which the index stores; a PDF's document also records where
each page starts (``Document.pages``).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import SourceError

SUFFIXES = (".txt", ".jsonl", ".pdf", ".docx", ".html", ".htm")
READ_BY_READERS = (".pdf", ".docx", ".html", ".htm")  # qa.readers


class SourceWarning(UserWarning):
    """A file was skipped; the message names it and says why."""


@dataclass(frozen=True)
class Document:
    source: str  # path as shown to users (relative to the cwd when inside it); "path#id" for JSONL records
    title: str  # JSONL records carry a title; bulletins get theirs per article
    text: str
    kind: str  # "bulletin" | "record"
    pages: tuple[int, ...] = ()  # PDF bulletins: the offset in ``text`` where each page starts

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def display_path(path: Path) -> str:
    p = path.resolve()
    try:
        return p.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()


DEFAULT_MAX_SOURCE_MB = 20.0  # a 50 MB text file would mean hours of embedding; QA_MAX_SOURCE_MB changes it


def max_source_bytes() -> int:
    raw = os.environ.get("QA_MAX_SOURCE_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_MAX_SOURCE_MB
    except ValueError:
        raise SourceError(f"QA_MAX_SOURCE_MB={raw!r}: expected a number of megabytes") from None
    return int(mb * 2**20)


def _skip(msg: str) -> None:
    warnings.warn(msg, SourceWarning, stacklevel=3)


def _files_below(root: Path) -> list[Path]:
    """Source files below ``root`` (sorted, hidden parts skipped).  Symlinked folders are not
    followed (no loops); a symlinked file is kept only when it resolves inside ``root``."""
    base = root.resolve()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in sorted(dirnames):
            if (here / d).is_symlink() and not d.startswith("."):
                _skip(f"{here / d}: a symlinked folder, not followed, skipped")
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (here / d).is_symlink())
        for name in sorted(filenames):
            q = here / name
            if name.startswith(".") or q.suffix.lower() not in SUFFIXES:
                continue
            if q.is_symlink():
                try:
                    target = q.resolve(strict=True)
                except (OSError, RuntimeError):
                    _skip(f"{q}: a broken or looping symlink, skipped")
                    continue
                if not target.is_relative_to(base):
                    _skip(f"{q}: a symlink leaving {root} (to {target}), skipped")
                    continue
            out.append(q)
    return out


def discover(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand folders to their source files (``SUFFIXES``) (recursively, sorted); keep files as given.
    Files over the size limit (``QA_MAX_SOURCE_MB``, default 20) and symlinks leaving their folder
    are skipped with a ``SourceWarning``."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(_files_below(p))
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                hint = "; save it as .docx" if p.suffix.lower() == ".doc" else ""
                raise SourceError(f"unsupported source file {p}: expected one of {', '.join(SUFFIXES)}{hint}")
            found.append(p)
        else:
            raise SourceError(f"source path not found: {p}")
    limit = max_source_bytes()
    seen, out = set(), []
    for p in found:
        key = p.resolve()
        if key in seen:
            continue
        seen.add(key)
        try:
            size = p.stat().st_size
        except OSError as e:
            _skip(f"{display_path(p)}: cannot read ({e.strerror}), skipped")
            continue
        if size > limit:
            _skip(f"{display_path(p)}: {size / 2**20:.1f} MB is over the {limit / 2**20:g} MB limit per file "
                  f"(QA_MAX_SOURCE_MB), skipped")
            continue
        out.append(p)
    return out


def decode(data: bytes, name: str = "<bytes>") -> str:
    """UTF-8 (BOM optional), else GB18030. Raise SourceError for binary or undecodable data."""
    if b"\x00" in data[:8192]:
        raise SourceError(f"{name}: looks binary (NUL bytes), skipped")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as e:
        raise SourceError(f"{name}: neither UTF-8 nor GB18030 ({e.reason} at byte {e.start}), skipped") from None
    # GB18030 maps almost any byte string; reject results full of control characters.
    ctrl = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
    if ctrl > max(2, len(text) // 100):
        raise SourceError(f"{name}: decodes only to control characters, skipped")
    return text


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror})") from None
    return decode(data, str(path))  # no newline rewriting: offsets index the decoded file as is


def documents_in(path: Path) -> list[Document]:
    """The documents of one file (a JSONL file holds several), as they are indexed."""
    return _read(path)[0]


def _read(path: Path) -> tuple[list[Document], tuple[str, ...]]:
    """The documents of one file, and notes on what its reader left out (for a warning)."""
    name = display_path(path)
    suffix = path.suffix.lower()
    if suffix in READ_BY_READERS:
        from .readers import READERS

        ex = READERS[suffix](path)
        return [Document(name, ex.title, ex.text, "bulletin", ex.pages)], ex.notes
    return _plain_documents(path, name), ()


def _plain_documents(path: Path, name: str) -> list[Document]:
    if path.suffix.lower() == ".txt":
        text = read_text(path)
        if not text.strip():
            raise SourceError(f"{name}: empty file, skipped")
        return [Document(name, "", text, "bulletin")]
    docs = []
    for lineno, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            rid, text = str(rec["id"]), rec["text"]
            title = str(rec.get("title") or "")
            if not isinstance(text, str):
                raise TypeError("text is not a string")
        except (ValueError, KeyError, TypeError) as e:
            warnings.warn(f"{name}:{lineno}: bad record ({e}); expected {{\"id\", \"title\", \"text\"}}, skipped",
                          SourceWarning, stacklevel=4)
            continue
        if text.strip():
            docs.append(Document(f"{name}#{rid}", title, text, "record"))
    if not docs:
        raise SourceError(f"{name}: no usable records, skipped")
    return docs


def load_documents(paths: Iterable[str | os.PathLike]) -> list[Document]:
    """Read every source below ``paths``. Unreadable files and exact duplicates are skipped with a SourceWarning."""
    docs: list[Document] = []
    by_hash: dict[str, str] = {}
    for path in discover(paths):
        try:
            found, notes = _read(path)
        except SourceError as e:
            warnings.warn(str(e), SourceWarning, stacklevel=2)
            continue
        for note in notes:
            warnings.warn(note, SourceWarning, stacklevel=2)
        dups: list[tuple[str, str]] = []
        for d in found:
            first = by_hash.get(d.sha256)
            if first is not None:
                dups.append((d.source, first))
                continue
            by_hash[d.sha256] = d.source
            docs.append(d)
        if len(dups) == 1:
            warnings.warn(f"{dups[0][0]}: same content as {dups[0][1]}, skipped", SourceWarning, stacklevel=2)
        elif dups:
            warnings.warn(f"{display_path(path)}: {len(dups)} records repeat earlier content and were skipped "
                          f"(first: {dups[0][0]} = {dups[0][1]})", SourceWarning, stacklevel=2)
    return docs


def source_text(source: str) -> str:
    """Re-read the text a ``source`` name refers to (a file, or a ``file.jsonl#id`` record)."""
    path, _, rid = source.partition("#")
    p = Path(path)
    if p.suffix.lower() in READ_BY_READERS:
        return documents_in(p)[0].text  # the reader's text: the same on every read
    if not rid:
        return read_text(p)
    for d in documents_in(p):
        if d.source.partition("#")[2] == rid:
            return d.text
    raise SourceError(f"no record {rid!r} in {path}")
