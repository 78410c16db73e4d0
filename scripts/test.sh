#!/usr/bin/env bash
# Set up (first time) and run the whole test suite: ruff, then pytest (browser and report tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh --test
bash scripts/setup.sh --test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
