#!/usr/bin/env bash
# Run the chat app: sets up the environment, fetches the model and builds the index on first run.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec "${QA_VENV:-.venv}/bin/python" app.py "$@"
