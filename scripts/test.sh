#!/usr/bin/env bash
# Runs every test bonsai has, from a fresh Debian 12 machine (as root):
#   1. installs build dependencies and the peers (Docker 20.10, Buildah, skopeo, umoci, a
#      registry on 127.0.0.1:5000) and builds the base archives the end-to-end tests use;
#   2. builds bonsai and runs the unit and end-to-end tests (ctest);
#   3. builds the unit tests again with AddressSanitizer + UndefinedBehaviorSanitizer and runs them,
#      and the build-feature end-to-end suite with that binary;
#   4. runs each libFuzzer target briefly.
# Exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_DIR:-$top/../shared}
export BENCH_DIR=${BENCH_DIR:-/var/tmp/bonsai-bench}
jobs=${JOBS:-2}

echo "== dependencies and peers"
"$top/scripts/install-deps.sh"
bash "$shared/bench/peers-setup.sh"
bash "$shared/bench/make-bases.sh" >/dev/null

echo "== build and test (RelWithDebInfo)"
BUILD_DIR="$top/build" "$top/scripts/build.sh"
ctest --test-dir "$top/build" --output-on-failure -j "$jobs"

echo "== unit tests under ASan + UBSan"
cmake -S "$top" -B "$top/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBONSAI_SANITIZE=ON >/dev/null
ninja -C "$top/build-asan"
# The dpkg cross-check (5000 pairs above) is about dpkg, not memory: 500 pairs suffice here.
BONSAI_DPKG_PAIRS=500 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$top/build-asan" --output-on-failure -j "$jobs" -L unit
# Real builds under the sanitizers too: the feature suite drives the ASan binary (about 2 min).
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$top/build-asan" --output-on-failure -R '^e2e[.]test_build_features$'

if [ -x "$top/scripts/fuzz-smoke.sh" ]; then
  echo "== fuzz smoke"
  "$top/scripts/fuzz-smoke.sh"
fi
echo "== all tests passed"
