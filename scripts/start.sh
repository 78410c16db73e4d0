#!/usr/bin/env bash
# Set up (first time), create or migrate the store (with demo data if it is new), start the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium draws the report charts; without it, everything but the reports' images works.
bash scripts/system-packages.sh || echo "Attention : paquets système manquants ; les rapports n'auront pas leurs graphiques." >&2
bash scripts/setup.sh
.venv/bin/kpi init --demo-if-new
exec .venv/bin/streamlit run dashboard/app.py "$@"
