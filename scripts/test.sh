#!/usr/bin/env bash
# Set up (first time) and run the whole test suite: ruff, then pytest (browser tests included).
# The browser tests drive Debian's chromium through Playwright; it is installed here from Debian's
# packages when missing (never `playwright install`, which downloads a browser).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] && [ -z "${KPI_CHROMIUM:-}" ]; then
  echo "Installation de chromium (paquet Debian) pour les tests dans un vrai navigateur…"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
bash scripts/setup.sh --test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
