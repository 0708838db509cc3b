#!/usr/bin/env bash
# Installs Debian's redis-server when no redis-server binary is on PATH (rate-limit tests start a real one).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ -x /usr/bin/redis-server ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# The package starts a system redis on 6379 where systemd runs; tests use their own on free ports.
command -v redis-server >/dev/null 2>&1 || { echo "redis-server still missing after install" >&2; exit 1; }
