#!/usr/bin/env bash
# Installs what the dashboard's browser tests drive: Debian's Chromium and ChromeDriver, and a
# CJK font so Chinese labels render in the screenshots. Does nothing when they are present.
# Needs Debian's apt and root (or sudo).
set -euo pipefail
have_font() { command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; }
if command -v chromium >/dev/null && command -v chromedriver >/dev/null && have_font; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PACKAGES="chromium chromium-driver fonts-wqy-zenhei fontconfig"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update only when the install cannot proceed.
if ! $SUDO apt-get install -y --no-install-recommends $PACKAGES; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends $PACKAGES
fi
chromium --version
chromedriver --version
