#!/bin/sh
# The conformance testee, runnable from the repository root: ./conformance/testee.sh [--gateway-defaults]
cd "$(dirname "$0")/.." || exit 1
exec node --import tsx conformance/testee.ts "$@"
