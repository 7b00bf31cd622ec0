#!/usr/bin/env bash
# The browser test's browser: Chromium and its WebDriver from Debian's packages (a browser
# download at run time is not allowed), and npm, which installs axe-core (make browser-test:
# npm ci). Does nothing when all three are already installed.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null \
        && command -v npm >/dev/null; then
    exit 0
fi
PACKAGES="chromium chromium-driver fonts-dejavu-core"
if ! command -v npm >/dev/null; then PACKAGES="$PACKAGES nodejs npm"; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
chromium --version
