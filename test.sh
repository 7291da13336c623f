#!/usr/bin/env bash
# Run all tests (unit tests with a tiny embedder, real-model tests, browser tests).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
scripts/ensure-chromium.sh
exec "${QA_VENV:-.venv}/bin/python" -m pytest "$@"
