# Shared helpers for the end-to-end tests. Each test sources this file, runs checks with `check`
# or `expect_fail`, and ends with `finish`, which prints "N passed, M failed" and sets the exit code.
set -uo pipefail
BONSAI=${BONSAI:?set BONSAI to the bonsai binary}
SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BENCH_DIR=${BENCH_DIR:-/var/tmp/bonsai-bench}
BASES=$BENCH_DIR/bases
passed=0
failed=0
WORK=$(mktemp -d /var/tmp/bonsai-e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export BONSAI_ROOT=$WORK/store

ok() { passed=$((passed + 1)); echo "ok: $*"; }
not_ok() { failed=$((failed + 1)); echo "FAIL: $*"; }

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what"; echo "$out" | tail -20 | sed 's/^/    /'; fi
}

# expect_fail DESCRIPTION PATTERN COMMAND...: passes when the command fails and its stderr
# matches PATTERN (an extended regex).
expect_fail() {
  local what=$1 pattern=$2; shift 2
  local err
  if err=$("$@" 2>&1 >/dev/null); then
    not_ok "$what (command succeeded)"
  elif grep -Eq -- "$pattern" <<<"$err"; then
    ok "$what"
  else
    not_ok "$what (error did not match /$pattern/)"; echo "$err" | tail -5 | sed 's/^/    /'
  fi
}

# equal DESCRIPTION EXPECTED ACTUAL
equal() {
  if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1"; diff <(echo "$2") <(echo "$3") | head -20 | sed 's/^/    /'; fi
}

need_bases() {
  for b in "$@"; do
    [ -f "$BASES/$b.tar" ] || { echo "FAIL: $BASES/$b.tar is missing: run ../shared/bench/make-bases.sh"; exit 1; }
  done
}

need_docker() {
  docker info >/dev/null 2>&1 || { echo "FAIL: no Docker daemon: run ../shared/bench/peers-setup.sh"; exit 1; }
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
