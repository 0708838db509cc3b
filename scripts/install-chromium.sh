#!/usr/bin/env bash
# Installs Debian's chromium when it is missing: the docs-page test (test/docs-browser.test.ts) drives a
# real headless browser through playwright-core, which ships no browser of its own. Idempotent.
# Prints the browser's path; tests read it from REFRACT_CHROMIUM or find /usr/bin/chromium.
set -euo pipefail
for candidate in "${REFRACT_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
[ -x /usr/bin/chromium ] || { echo "chromium still missing after install" >&2; exit 1; }
echo /usr/bin/chromium
