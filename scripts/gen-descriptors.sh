#!/usr/bin/env bash
# Regenerates every committed descriptor set (FileDescriptorSet, binary) from the .proto files in proto/.
# Run from anywhere: `npm run proto:gen` or `bash scripts/gen-descriptors.sh`. Commit the outputs.
#
# - proto/descriptors/google.binpb: the bundled google/api, google/protobuf and google/rpc files, used to
#   resolve well-known types and error details; no source info (nobody needs their comments at runtime).
# - fixtures/descriptors/{library,user}.binpb: the demo services plus all their imports, WITH source info,
#   because the exact-reflection fixture serves these bytes as they are and the gateway turns leading
#   comments into API docs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

mkdir -p proto/descriptors fixtures/descriptors

npx buf build proto --path proto/google --exclude-source-info -o proto/descriptors/google.binpb
# --path limits the image to one file and its transitive imports (buf includes imports by default).
npx buf build proto --path proto/acme/library/v1/library.proto -o fixtures/descriptors/library.binpb
npx buf build proto --path proto/acme/user/v1/user.proto -o fixtures/descriptors/user.binpb

# Schema-evolution fixtures: two versions of one service (same package and file name), each its own buf
# module whose `google` directory is a symlink to proto/google.
for version in v1 v2; do
  npx buf build "fixtures/schemas/inventory-$version" --path "fixtures/schemas/inventory-$version/acme" \
    -o "fixtures/descriptors/inventory-$version.binpb"
done
