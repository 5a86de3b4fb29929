#!/usr/bin/env bash
# Crash consistency and concurrency of the store, against the real binary and real archives:
#  (a) concurrent `bonsai load`s into one fresh store (different archives, then the same one)
#  (b) `bonsai load` killed with SIGKILL at random moments: `bonsai fsck` is clean every time,
#      nothing is left in ingest/, every blob hashes to its name, and a final load succeeds
#  (c) `bonsai prune` running while a load is in progress
#  (d) a truncated archive fails with an error naming it and leaves the store as it was
# Env: BONSAI (the binary), BENCH_DIR (default /var/tmp/bonsai-bench) holding bases/*.tar.
# Options: KILL_ROUNDS (default 15).
set -uo pipefail

BONSAI=${BONSAI:?set BONSAI to the bonsai binary}
BENCH_DIR=${BENCH_DIR:-/var/tmp/bonsai-bench}
BASES="$BENCH_DIR/bases"
KILL_ROUNDS=${KILL_ROUNDS:-15}
for f in debian golang; do
  if [ ! -f "$BASES/$f.tar" ]; then
    echo "FAIL: $BASES/$f.tar is missing; run ../shared/bench/make-bases.sh first" >&2
    exit 1
  fi
done

TMP=$(mktemp -d /var/tmp/bonsai-crash.XXXXXX)
cleanup() {
  local p
  for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

b() { "$BONSAI" --root "$1" "${@:2}"; }

# The store at $1 is consistent: fsck exits 0 and says so, ingest/ is empty, and every blob's
# content hashes to its name. $2 names the situation in messages.
check_store() {
  local root=$1 what=$2 out ok=1
  if ! out=$(b "$root" fsck 2>&1) || ! grep -q "store is clean" <<<"$out"; then
    fail "$what: fsck: $out"
    ok=0
  fi
  local left
  left=$(find "$root/ingest" -type f 2>/dev/null | head -5)
  if [ -n "$left" ]; then
    fail "$what: files left in ingest/: $left"
    ok=0
  fi
  if [ -n "$(ls -A "$root/blobs/sha256")" ]; then
    local bad
    bad=$(cd "$root/blobs/sha256" && ls | awk '{print $1 "  " $1}' | sha256sum -c --quiet 2>&1)
    if [ -n "$bad" ]; then
      fail "$what: blobs not matching their names: $bad"
      ok=0
    fi
  fi
  [ $ok = 1 ]
}

# The tags a docker-archive carries, from its manifest.json.
tags_of() {
  tar -xOf "$1" manifest.json | jq -r '.[].RepoTags // [] | .[]'
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

echo "== (a) concurrent loads into one fresh store"
for pair in "debian golang" "golang golang" "debian debian"; do
  set -- $pair
  root="$TMP/a-$1-$2"
  "$BONSAI" --root "$root" load -q -i "$BASES/$1.tar" >"$TMP/a1.log" 2>&1 &
  p1=$!
  "$BONSAI" --root "$root" load -q -i "$BASES/$2.tar" >"$TMP/a2.log" 2>&1 &
  p2=$!
  s1=0 s2=0
  wait $p1 || s1=$?
  wait $p2 || s2=$?
  if [ $s1 = 0 ] && [ $s2 = 0 ]; then
    pass "concurrent load of $1.tar and $2.tar: both succeed"
  else
    fail "concurrent load of $1.tar ($s1: $(cat "$TMP/a1.log")) and $2.tar ($s2: $(cat "$TMP/a2.log"))"
  fi
  listing=$(b "$root" images 2>&1)
  missing=""
  for t in $(tags_of "$BASES/$1.tar") $(tags_of "$BASES/$2.tar"); do
    grep -Eq "^${t%:*} +${t##*:} " <<<"$listing" || missing="$missing $t"
  done
  rows=$(($(wc -l <<<"$listing") - 1))
  want=$(printf '%s\n' $(tags_of "$BASES/$1.tar") $(tags_of "$BASES/$2.tar") | sort -u | wc -l)
  if [ -z "$missing" ] && [ "$rows" = "$want" ]; then
    pass "bonsai images lists every image once after loading $1.tar and $2.tar"
  else
    fail "bonsai images after loading $1.tar and $2.tar (missing:$missing, $rows rows, want $want): $listing"
  fi
  check_store "$root" "after concurrent load of $1.tar and $2.tar" && pass "fsck clean after concurrent load of $1.tar and $2.tar"
  rm -rf "$root"
done

echo "== (b) load killed with SIGKILL at random moments, $KILL_ROUNDS rounds"
start=$(now_ms)
if b "$TMP/calibrate" load -q -i "$BASES/golang.tar" >"$TMP/cal.log" 2>&1; then
  load_ms=$(($(now_ms) - start))
  pass "a full load of golang.tar takes ${load_ms} ms"
else
  load_ms=5000
  fail "calibration load of golang.tar: $(cat "$TMP/cal.log")"
fi
rm -rf "$TMP/calibrate"
root="$TMP/b"
kills=0 completed=0 round_failures=0
for ((i = 1; i <= KILL_ROUNDS; i++)); do
  delay_ms=$(((RANDOM * 32768 + RANDOM) % (load_ms + 1)))
  # The binary itself, not the b() function: $! must be bonsai's pid, not a subshell's.
  "$BONSAI" --root "$root" load -q -i "$BASES/golang.tar" >"$TMP/b.log" 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 $pid 2>/dev/null
  status=0
  wait $pid || status=$?
  if [ $status = 137 ]; then
    kills=$((kills + 1))
  elif [ $status = 0 ]; then
    completed=$((completed + 1))
  else
    fail "round $i: load exited $status before the kill: $(cat "$TMP/b.log")"
    round_failures=$((round_failures + 1))
  fi
  if ! check_store "$root" "round $i (killed after ${delay_ms} ms)"; then
    round_failures=$((round_failures + 1))
  fi
  # A load that got to the end is undone, so that the next round starts writing from scratch.
  if [ $status = 0 ]; then
    b "$root" rmi golang:bookworm >/dev/null 2>&1
    b "$root" prune >/dev/null 2>&1 || fail "round $i: prune after a completed load"
  fi
done
if [ $round_failures = 0 ]; then
  pass "$KILL_ROUNDS rounds ($kills killed, $completed completed): store consistent after each"
else
  fail "$round_failures of $KILL_ROUNDS kill rounds left an inconsistent store"
fi
if out=$(b "$root" load -i "$BASES/golang.tar" 2>&1) && b "$root" inspect golang:bookworm >/dev/null 2>&1; then
  pass "a full load after the kills succeeds"
else
  fail "a full load after the kills: $out"
fi
check_store "$root" "after the final load" && pass "fsck clean after the final load"
rm -rf "$root"

echo "== (c) prune concurrent with a load"
root="$TMP/c"
b "$root" load -q -i "$BASES/debian.tar" >/dev/null 2>&1 || fail "(c) setup load of debian.tar"
b "$root" rmi debian:bookworm >/dev/null 2>&1 || fail "(c) setup rmi debian:bookworm"
"$BONSAI" --root "$root" load -q -i "$BASES/golang.tar" >"$TMP/c.log" 2>&1 &
pid=$!
prunes=0 prune_failures=0
while kill -0 $pid 2>/dev/null; do
  b "$root" prune >"$TMP/prune.log" 2>&1 || {
    prune_failures=$((prune_failures + 1))
    cat "$TMP/prune.log"
  }
  prunes=$((prunes + 1))
done
status=0
wait $pid || status=$?
if [ $status = 0 ] && [ $prune_failures = 0 ]; then
  pass "load succeeds while $prunes prunes run"
else
  fail "load with concurrent prune: load exit $status ($(cat "$TMP/c.log")), $prune_failures prune failures"
fi
b "$root" prune >/dev/null 2>&1 || fail "(c) prune after the load"
if b "$root" inspect golang:bookworm >/dev/null 2>&1 && check_store "$root" "after load with concurrent prune"; then
  pass "the loaded image is complete and fsck clean after concurrent prune"
fi

echo "== (d) a truncated archive fails, names the file and leaves the store as it was"
head -c 150000000 "$BASES/golang.tar" >"$TMP/truncated.tar"
before=$(sha256sum <"$root/index.json")
status=0
out=$(b "$root" load -i "$TMP/truncated.tar" 2>&1) || status=$?
if [ $status != 0 ] && grep -q "^bonsai: error: load $TMP/truncated.tar: " <<<"$out"; then
  pass "truncated archive rejected: $out"
else
  fail "truncated archive: exit $status: $out"
fi
if [ "$(sha256sum <"$root/index.json")" = "$before" ] && check_store "$root" "after a failed load"; then
  pass "a failed load leaves index.json as it was and the store clean"
fi
rm -f "$TMP/truncated.tar"

echo "$passed passed, $failed failed"
[ $failed = 0 ]
