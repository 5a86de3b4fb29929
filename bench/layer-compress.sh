#!/usr/bin/env bash
# Layer compression and hashing: bonsai against gzip, pigz, zstd and sha256sum on the largest
# layer of golang:bookworm, in one run on one machine.
#
# Input: the docker-archive ${BENCH_DIR:-/var/tmp/bonsai-bench}/bases/golang.tar (written by
# bench/make-bases.sh; this script waits for it). bonsai's side is driven by bonsai-compress
# (src/archive/tools/compress_main.cc), which runs the real layer writer: compression and both
# SHA-256 digests (blob and diff-id) in one pass.
#
# Environment: BENCH_DIR, BUILD_DIR (default <repo>/build-bench, a RelWithDebInfo build), RUNS
# (default 3), WAIT_SECONDS (default 3600). igzip -2 and libdeflate-gzip -6 are run as well, for
# reference: they are the engines behind bonsai's two gzip levels, single-threaded.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/bonsai-bench}
BUILD_DIR=${BUILD_DIR:-$SRC/build-bench}
RUNS=${RUNS:-3}
WAIT_SECONDS=${WAIT_SECONDS:-3600}
ARCHIVE=$BENCH_DIR/bases/golang.tar
WORK=$BENCH_DIR/layer-compress
mkdir -p "$WORK"

log() { printf '%s\n' "$*" >&2; }

# Step 1: wait for a complete docker-archive (it has a manifest.json once fully written).
waited=0
until [[ -f $ARCHIVE ]] && tar -tf "$ARCHIVE" 2>/dev/null | grep -qx 'manifest.json'; do
  if ((waited >= WAIT_SECONDS)); then
    log "layer-compress: $ARCHIVE did not appear within ${WAIT_SECONDS}s (run bench/make-bases.sh)"
    exit 1
  fi
  ((waited == 0)) && log "waiting for $ARCHIVE ..."
  sleep 10
  waited=$((waited + 10))
done

# Step 2: extract the largest layer (legacy "<id>/layer.tar" or OCI-style "blobs/sha256/<hex>").
read -r size member < <(tar -tvf "$ARCHIVE" |
  awk '$6 ~ /(layer\.tar|^blobs\/sha256\/[0-9a-f]+)$/ {print $3, $6}' | sort -n | tail -1)
LAYER=$WORK/layer.tar
if [[ ! -f $LAYER || $(stat -c %s "$LAYER") != "$size" ]]; then
  log "extracting $member ($size bytes)"
  tar -xOf "$ARCHIVE" "$member" >"$LAYER.tmp"
  mv "$LAYER.tmp" "$LAYER"
fi
head -c 4 "$LAYER" | od -An -tx1 | grep -q '1f 8b' && { log "layer is gzip-compressed; expected a tar"; exit 1; }

# Step 3: build the driver.
if [[ ! -x $BUILD_DIR/src/archive/bonsai-compress ]]; then
  cmake -S "$SRC" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$BUILD_DIR" -j2 bonsai-compress >/dev/null
BC=$BUILD_DIR/src/archive/bonsai-compress

# Step 4: run each command RUNS times on a warm page cache; keep the median wall time, the
# median CPU time (user + sys), the output size, and the peak RSS (from /usr/bin/time -v). On a
# shared machine wall times depend on what else runs: the load average is printed, and CPU
# times compare the work done.
cat "$LAYER" >/dev/null
INPUT_BYTES=$(stat -c %s "$LAYER")
declare -A TIME CPU SIZE RSS LAST_OUT
run() {  # run <name> <command reading $LAYER, writing $OUT>
  local name=$1 cmd=$2 times=() cpus=() t0 t1 i
  local out=$WORK/out.$(echo "$name" | tr -c 'a-z0-9' '_')
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    LAYER=$LAYER OUT=$out /usr/bin/time -v -o "$WORK/time.txt" bash -c "$cmd" 2>"$WORK/stderr.txt"
    t1=$(date +%s%N)
    times+=($(((t1 - t0) / 1000000)))
    cpus+=($(awk -F': ' '/User time|System time/ {s += $2} END {printf "%d", s * 1000}' "$WORK/time.txt"))
  done
  TIME[$name]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
  SIZE[$name]=$(stat -c %s "$out" 2>/dev/null || echo 0)
  CPU[$name]=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
  RSS[$name]=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  LAST_OUT[$name]=$out
  cp "$WORK/stderr.txt" "$out.stderr"
  printf '%-22s %7.2f s %8.1f MB/s %7.2f CPU s %11s bytes out  RSS %4d MB  (runs: %s ms)\n' \
    "$name" "$(echo "${TIME[$name]} / 1000" | bc -l)" \
    "$(echo "$INPUT_BYTES / ${TIME[$name]} / 1000" | bc -l)" \
    "$(echo "${CPU[$name]} / 1000" | bc -l)" "${SIZE[$name]}" "$((RSS[$name] / 1024))" "${times[*]}"
}

echo "layer: $member, $INPUT_BYTES bytes; $(nproc) cores; $RUNS runs each, median shown"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run "bonsai gzip default" '"'"$BC"'" --gzip <"$LAYER" >"$OUT"'
run "bonsai gzip high" '"'"$BC"'" --gzip=high <"$LAYER" >"$OUT"'
run "bonsai zstd" '"'"$BC"'" --zstd <"$LAYER" >"$OUT"'
run "bonsai zstd nodigest" '"'"$BC"'" --zstd --no-digest <"$LAYER" >"$OUT"'
run "bonsai sha256" '"'"$BC"'" --sha256 <"$LAYER" >"$OUT"'
run "igzip -2" 'igzip -2 -c <"$LAYER" >"$OUT"'
run "libdeflate-gzip -6" 'libdeflate-gzip -6 -c <"$LAYER" >"$OUT"'
run "pigz -p2 -6" 'pigz -p2 -6 -c <"$LAYER" >"$OUT"'
run "zstd -3 -T2" 'zstd -q -3 -T2 -c <"$LAYER" >"$OUT"'
run "sha256sum" 'sha256sum <"$LAYER" >"$OUT"'
run "gzip -6" 'gzip -6 -c <"$LAYER" >"$OUT"'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Step 5: check the outputs are what they claim (valid streams, digests that match sha256sum).
gzip -t "${LAST_OUT[bonsai gzip default]}" "${LAST_OUT[bonsai gzip high]}"
zstd -q -t "${LAST_OUT[bonsai zstd]}"
want=$(sha256sum <"${LAST_OUT[bonsai gzip default]}" | cut -c1-64)
grep -q "digest sha256:$want" "${LAST_OUT[bonsai gzip default]}.stderr" ||
  { echo "bonsai's blob digest does not match sha256sum of its output" >&2; exit 1; }
diff_id=$(sha256sum <"$LAYER" | cut -c1-64)
for n in "bonsai gzip default" "bonsai gzip high" "bonsai zstd"; do
  grep -q "diff_id sha256:$diff_id" "${LAST_OUT[$n]}.stderr" ||
    { echo "$n: diff-id does not match sha256sum of the layer" >&2; exit 1; }
done
echo "outputs verified: gzip -t, zstd -t, blob digest and diff-ids equal sha256sum"

# Step 6: ratios and targets.
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
speedup() { ratio "${TIME[$2]}" "${TIME[$1]}"; }
size_vs() { ratio "${SIZE[$1]}" "${SIZE[$2]}"; }
check() { if (( $(echo "$1" | bc -l) )); then echo "PASS"; else echo "FAIL"; fi; }
echo
echo "bonsai gzip default is $(speedup 'bonsai gzip default' 'pigz -p2 -6')x faster than pigz -p2 -6," \
  "output $(size_vs 'bonsai gzip default' 'gzip -6')x gzip -6's" \
  "[target >= 15x, <= 1.10x: $(check "$(speedup 'bonsai gzip default' 'pigz -p2 -6') >= 15 && $(size_vs 'bonsai gzip default' 'gzip -6') <= 1.10")]"
echo "bonsai gzip high is $(speedup 'bonsai gzip high' 'pigz -p2 -6')x faster than pigz -p2 -6," \
  "output $(size_vs 'bonsai gzip high' 'gzip -6')x gzip -6's" \
  "[target >= 4x, < 1.00x: $(check "$(speedup 'bonsai gzip high' 'pigz -p2 -6') >= 4 && ${SIZE[bonsai gzip high]} < ${SIZE[gzip -6]}")]"
echo "bonsai zstd is $(speedup 'bonsai zstd' 'zstd -3 -T2')x the speed of zstd -3 -T2," \
  "output $(size_vs 'bonsai zstd' 'zstd -3 -T2')x its size" \
  "[target >= 1x: $(check "$(speedup 'bonsai zstd' 'zstd -3 -T2') >= 1")];" \
  "without the two SHA-256 passes $(speedup 'bonsai zstd nodigest' 'zstd -3 -T2')x"
sha_mbs=$(echo "$INPUT_BYTES / ${TIME[bonsai sha256]} / 1000" | bc -l)
echo "bonsai sha256 is $(speedup 'bonsai sha256' 'sha256sum')x faster than sha256sum," \
  "$(printf '%.0f' "$sha_mbs") MB/s [target > 1000 MB/s: $(check "$sha_mbs > 1000")]"
peak=0
for n in "bonsai gzip default" "bonsai gzip high" "bonsai zstd" "bonsai sha256"; do
  ((RSS[$n] > peak)) && peak=${RSS[$n]}
done
echo "CPU time (user+sys; less sensitive to other load): pigz -p2 -6 uses" \
  "$(ratio "${CPU[pigz -p2 -6]}" "${CPU[bonsai gzip default]}")x bonsai gzip default's and" \
  "$(ratio "${CPU[pigz -p2 -6]}" "${CPU[bonsai gzip high]}")x bonsai gzip high's;" \
  "bonsai zstd uses $(ratio "${CPU[bonsai zstd]}" "${CPU[zstd -3 -T2]}")x the zstd CLI's"
echo "bonsai peak RSS $((peak / 1024)) MB [target < 200 MB: $(check "$peak < 200 * 1024")]"
rm -f "$WORK"/out.*
