#!/usr/bin/env bash
# Debian packages the tool needs beyond Python, installed when missing:
# - chromium: kaleido draws the report charts in it (offline); the browser tests drive it too;
# - libpango-1.0-0, libpangoft2-1.0-0, fonts-dejavu-core: WeasyPrint's PDF layout and fonts;
# - with --test, libreoffice-writer-nogui: the report test renders a page of the Word file to PNG.
# Never `playwright install` or a downloaded browser: only Debian's packages.
set -euo pipefail
wanted="chromium libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
[ "${1:-}" = "--test" ] && wanted="$wanted libreoffice-writer-nogui"
missing=""
for pkg in $wanted; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Paquets système manquants :$missing (installez-les avec le gestionnaire de paquets de la machine)." >&2
  exit 1
fi
echo "Installation des paquets Debian manquants :$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
for pkg in $missing; do
  # LibreOffice without its recommends (hundreds of MB of extras); the others with theirs (fonts).
  flags=""
  [ "$pkg" = "libreoffice-writer-nogui" ] && flags="--no-install-recommends"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $flags "$pkg" >/dev/null
done
