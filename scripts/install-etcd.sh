#!/usr/bin/env bash
# Installs Debian's etcd-server when no etcd binary is on PATH (integration tests start a real one).
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then exit 0; fi
if [ -x /usr/bin/etcd ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
# The package starts a system etcd on 2379 where systemd runs; tests use their own on free ports.
command -v etcd >/dev/null 2>&1 || { echo "etcd still missing after install" >&2; exit 1; }
