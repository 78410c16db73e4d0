#!/usr/bin/env bash
# Set up (first time), create or migrate the store (with demo data if it is new), start the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
bash scripts/setup.sh
.venv/bin/kpi init --demo-if-new
exec .venv/bin/streamlit run dashboard/app.py "$@"
