#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz/ and runs each briefly from a seed
# corpus made of the conformance Dockerfiles. Exits non-zero on a crash, leak or timeout.
# Usage: scripts/fuzz-smoke.sh [seconds-per-target]   (default 30)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$SRC/build-fuzz"
SECONDS_PER_TARGET=${1:-30}
CORPUS_SRC="$SRC/../shared/conformance/dockerfile"

CC=clang CXX=clang++ cmake -S "$SRC" -B "$BUILD" -G Ninja -DBONSAI_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" -j2 dockerfile_fuzz dockerignore_fuzz

# Seed corpora: every conformance Dockerfile, and .dockerignore-shaped inputs.
seeds="$BUILD/fuzz-seeds"
rm -rf "$seeds"
mkdir -p "$seeds/dockerfile" "$seeds/dockerignore"
if [ -d "$CORPUS_SRC" ]; then
  i=0
  for f in "$CORPUS_SRC"/cases/*/Dockerfile "$CORPUS_SRC"/negative/*/Dockerfile \
           "$CORPUS_SRC"/testfile-line.Dockerfile; do
    cp "$f" "$seeds/dockerfile/seed$i"
    i=$((i + 1))
  done
  cp "$CORPUS_SRC/envVarTest" "$seeds/dockerfile/envVarTest"
fi
printf 'a/b/c.go\n**/*.go\n!vendor/**\n/tmp/\n*.md\n' >"$seeds/dockerignore/seed0"
printf 'docs/x\n# c\ndocs\n!docs/public\n[a-z]?\\*\n' >"$seeds/dockerignore/seed1"

status=0
for target in dockerfile dockerignore; do
  work="$BUILD/fuzz-work/$target"
  mkdir -p "$work"
  echo "== ${target}_fuzz for ${SECONDS_PER_TARGET}s"
  if ! (cd "$work" && "$BUILD/fuzz/${target}_fuzz" -max_total_time="$SECONDS_PER_TARGET" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" "$seeds/$target"); then
    echo "${target}_fuzz FAILED (crash artifacts in $work)"
    status=1
  fi
done
exit $status
