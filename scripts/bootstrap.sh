#!/usr/bin/env bash
# Create or refresh the project's Python environment, then make sure the embedding model is cached.
# Idempotent: the environment is rebuilt only when requirements.lock or pyproject.toml change, and the
# model fetch is skipped when a verified copy is in the per-user cache (~/.cache/gonghui-qa).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${QA_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
want="$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.qa-stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> [1/3] creating the Python environment in $VENV (first run: a few minutes)"
  "$PYTHON" -m venv "$VENV"
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  echo "==> [2/3] installing torch==2.13.0 (CPU) and the pinned dependencies"
  "$VENV/bin/pip" install --progress-bar on "torch==2.13.0" 2>&1 | grep -v "is ignored: it is neither" || true
  "$VENV/bin/pip" install --progress-bar on -r requirements.lock 2>&1 | grep -v "is ignored: it is neither" || true
  "$VENV/bin/pip" install --quiet --no-deps -e . 2>&1 | grep -v "is ignored: it is neither" || true
  "$VENV/bin/python" -c "import torch, sentence_transformers, faiss, onnxruntime, onnx, openvino, gradio, jieba, scipy, opencc, pypinyin, sklearn, pdfplumber, pypdf, docx, trafilatura, pymilvus, milvus_lite" \
    || { echo "error: dependency install failed (see above)" >&2; exit 1; }
  echo "$want" > "$VENV/.qa-stamp"
fi
echo "==> [3/3] embedding model (fetched once into the per-user cache, then verified by sha256)"
"$VENV/bin/python" -m qa fetch-model >/dev/null
