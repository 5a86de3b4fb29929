#!/usr/bin/env bash
# Runs `bonsai debug parse` over the Dockerfile conformance corpus: every case must print its
# reference `result` exactly, every negative case must fail.
# Env: BONSAI (binary path), SRC (source dir; the corpus is at $SRC/../shared/...).
set -u
BONSAI=${BONSAI:?set BONSAI to the bonsai binary}
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CORPUS="$SRC/../shared/conformance/dockerfile"
if [ ! -d "$CORPUS" ]; then
  echo "SKIP: no conformance corpus at $CORPUS"
  exit 0
fi

pass=0
fail=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

for dir in "$CORPUS"/cases/*/; do
  name=$(basename "$dir")
  if "$BONSAI" debug parse "$dir/Dockerfile" >"$tmp" 2>/dev/null && cmp -s "$tmp" "$dir/result"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL case $name"
    diff "$dir/result" "$tmp" | head -20
  fi
done

for dir in "$CORPUS"/negative/*/; do
  name=$(basename "$dir")
  if "$BONSAI" debug parse "$dir/Dockerfile" >/dev/null 2>"$tmp"; then
    fail=$((fail + 1))
    echo "FAIL negative $name: accepted"
  elif ! grep -q "Dockerfile:[0-9]*:[0-9]*:" "$tmp"; then
    fail=$((fail + 1))
    echo "FAIL negative $name: error without file:line:column: $(cat "$tmp")"
  else
    pass=$((pass + 1))
  fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
