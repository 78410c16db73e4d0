#!/usr/bin/env bash
# Set up (first time) and run the whole test suite, then ruff.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
