#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz/ and runs each briefly from a seed
# corpus (the conformance Dockerfiles; hand-written Debian versions, relationship fields and
# control paragraphs). Exits non-zero on a crash, leak or timeout.
# Usage: scripts/fuzz-smoke.sh [seconds-per-target]   (default 30)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$SRC/build-fuzz"
SECONDS_PER_TARGET=${1:-30}
CORPUS_SRC="$SRC/../shared/conformance/dockerfile"

CC=clang CXX=clang++ cmake -S "$SRC" -B "$BUILD" -G Ninja -DBONSAI_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
TARGETS="dockerfile dockerignore debian_version debian_relations debian_control deb"
# shellcheck disable=SC2046
ninja -C "$BUILD" -j2 $(for t in $TARGETS; do echo "${t}_fuzz"; done)

# Seed corpora: every conformance Dockerfile, and .dockerignore-shaped inputs.
seeds="$BUILD/fuzz-seeds"
rm -rf "$seeds"
for t in $TARGETS; do mkdir -p "$seeds/$t"; done
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
# Debian: two versions per seed (split at the newline); a field selector byte, then a
# relationship field; control paragraphs as in a Packages index.
printf '1:2.36-9+deb12u4\n2.36-9+deb12u10' >"$seeds/debian_version/seed0"
printf '1.0~rc1+dfsg-2~bpo12+1\n0:1.00-0' >"$seeds/debian_version/seed1"
printf '\000libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, zlib1g (<< 1:1.3~)' \
  >"$seeds/debian_relations/seed0"
printf '\005python3:any (>= 3.11~) [amd64 !i386] <!nocheck cross> <stage1>' \
  >"$seeds/debian_relations/seed1"
printf '\002mail-transport-agent, libfoo-abi (= 2)' >"$seeds/debian_relations/seed2"
printf 'Package: libc6\nVersion: 2.36-9\nDepends: libgcc-s1\nDescription: GNU C\n x\n .\n y\n\n' \
  >"$seeds/debian_control/seed0"
printf '# c\nPackage: tzdata\r\nVersion:2024a\n\n\nPackage: b\nSHA256:\n 0a 1 f\n' \
  >"$seeds/debian_control/seed1"
# .deb: a selector byte, then a small package dpkg-deb builds (xz and gzip members).
pkg=$(mktemp -d)
mkdir -p "$pkg/p/DEBIAN" "$pkg/p/usr/bin"
printf 'Package: seed\nVersion: 1.0-1\nArchitecture: all\nMaintainer: x <x@y>\nDescription: s\n' \
  >"$pkg/p/DEBIAN/control"
printf '#!/bin/sh\necho hi\n' >"$pkg/p/usr/bin/seed" && chmod 755 "$pkg/p/usr/bin/seed"
ln -s seed "$pkg/p/usr/bin/seed2"
for z in xz gzip; do
  dpkg-deb -Z"$z" --root-owner-group -b "$pkg/p" "$pkg/seed-$z.deb" >/dev/null
  { printf '\000'; cat "$pkg/seed-$z.deb"; } >"$seeds/deb/seed-$z"
done
rm -rf "$pkg"

status=0
for target in $TARGETS; do
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
