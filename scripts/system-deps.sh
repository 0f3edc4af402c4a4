#!/usr/bin/env bash
# Installs the Debian packages fapiao needs when they are missing: chromium (browser tests),
# a CJK font (rendering scans and PDFs), poppler-utils (looking at PDFs in tests).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
