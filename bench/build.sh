#!/usr/bin/env bash
# Image builds: bonsai against Docker (BuildKit) and Buildah, in one run on one machine.
#
# Apps: go-hello with Dockerfile.distroless (a Go build stage, a distroless final stage),
# node-hello, and ctx10k: node-hello's Dockerfile with `COPY . /app` over a generated context of
# 10,000 small files (100 dirs x 100 files, 41-240 bytes each). Modes:
#   cold   --no-cache (base images present; every step runs)
#   warm   the same build again, nothing changed (every step a cache hit)
#   edit   ctx10k only: warm after changing the bytes of one file in the context, so the COPY and
#          what follows re-run
# Each case runs RUNS times per tool, interleaved (run i of every tool before run i+1), after
# one untimed build that fills the cache. Times are wall seconds of the whole CLI command (bash's
# $EPOCHREALTIME, so no clock process is timed with it), each started after an untimed `sync`
# so that none pays for the writeback of the command before it; the table shows medians and
# bonsai's time over each peer's (< 1: bonsai is faster).
#
# Peers:
#   docker    Docker 20.10 as it builds by default: its classic builder (DOCKER_BUILDKIT=0). This
#             is "Docker's time" in the targets of issue 4.
#   buildkit  the same daemon with BuildKit (DOCKER_BUILDKIT=1), what `docker build` is today.
#   buildah   Buildah 1.28 (`buildah bud --layers --pull-never`, overlay storage, in a private
#             --root so its intermediate images can be pruned without touching anyone else's).
#   chroot    go-distroless cold only: the build stage's RUN command alone, in a bare chroot of the
#             golang base with /proc (no overlay, no namespaces but mount, no image, a fresh Go
#             cache). No builder can run that step faster, so its time over Docker's is the
#             lowest ratio any builder can reach on this machine; it is printed under the table.
# Both docker columns go through the 20.10 CLI, which needs no buildx plugin (/usr/bin/docker from
# Debian's docker.io when `docker` is a newer CLI without buildx). The daemon has no bridge
# network, so every tool runs steps with --network none.
#
# Needs: ../shared/bench/peers-setup.sh and make-bases.sh run first (Docker, Buildah, the base
# archives in $BENCH_DIR/bases).
# Environment: BENCH_DIR (default /var/tmp/bonsai-bench), RUNS (default 5), BENCH_CASES (a subset
# of the cases as APP:MODE words, e.g. "ctx10k:cold ctx10k:warm"; default all), BONSAI (the binary;
# default: a RelWithDebInfo build, as scripts/build.sh makes, in BUILD_DIR, default
# <repo>/build-bench, made here), APPS (default
# <repo>/../shared/bench/apps). bonsai's store is $BENCH_DIR/build/bonsai-root, made afresh each
# run (loading the four bases takes seconds, untimed; the first build unpacks them, also untimed)
# and removed at the end, so runs never share state. If BONSAI has no `build` command, its column is "n/a".
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/bonsai-bench}
BUILD_DIR=${BUILD_DIR:-$SRC/build-bench}
RUNS=${RUNS:-5}
APPS=${APPS:-$SRC/../shared/bench/apps}
BASES=$BENCH_DIR/bases
WORK=$BENCH_DIR/build
BONSAI_ROOT_DIR=$WORK/bonsai-root
BUILDAH=(buildah --root "$WORK/buildah-root" --runroot "$WORK/buildah-runroot")
mkdir -p "$WORK/logs"

log() { printf '%s\n' "$*" >&2; }
die() { log "build.sh: $*"; exit 1; }

# Step 1: the tools.
for b in debian node golang distroless-static; do
  [[ -f $BASES/$b.tar ]] || die "$BASES/$b.tar is missing: run ../shared/bench/make-bases.sh"
done
docker info >/dev/null 2>&1 || die "no Docker daemon: run ../shared/bench/peers-setup.sh"
command -v buildah >/dev/null || die "buildah is missing: run ../shared/bench/peers-setup.sh"
DOCKER_CLI=""
for cli in docker /usr/bin/docker; do
  command -v "$cli" >/dev/null || continue
  if "$cli" buildx version >/dev/null 2>&1 ||
    [[ $("$cli" version --format '{{.Client.Version}}' 2>/dev/null) == 20.10.* ]]; then
    DOCKER_CLI=$cli
    break
  fi
done
[[ -n $DOCKER_CLI ]] || die "no docker CLI that can use BuildKit (20.10, or one with buildx)"
if [[ -z ${BONSAI:-} ]]; then
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S "$SRC" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  ninja -C "$BUILD_DIR" bonsai >/dev/null
  BONSAI=$BUILD_DIR/bonsai
fi
HAVE_BONSAI=1
grep -q -- --no-cache <<<"$("$BONSAI" build --help 2>&1)" || { HAVE_BONSAI=0; log "note: $BONSAI has no build command yet; bonsai is skipped"; }
TOOLS=(bonsai docker buildkit buildah)
((HAVE_BONSAI)) || TOOLS=(docker buildkit buildah)

# The cases to measure (checked before anything is loaded).
CASES=("go-distroless cold" "go-distroless warm" "node cold" "node warm" "ctx10k cold" "ctx10k warm" "ctx10k edit")
if [[ -n ${BENCH_CASES:-} ]]; then  # e.g. BENCH_CASES="ctx10k:cold ctx10k:warm"
  ALL_CASES=("${CASES[@]}") CASES=()
  for c in $BENCH_CASES; do
    [[ " ${ALL_CASES[*]/ /:} " == *" $c "* ]] || die "BENCH_CASES: no case $c (cases: ${ALL_CASES[*]/ /:})"
    CASES+=("${c/:/ }")
  done
fi

# Step 2: the same bases in every tool, from the archives (bonsai's fresh store; Docker and
# Buildah's private store keep theirs between runs).
image_of() { case $1 in distroless-static) echo distroless/static:debian12;; *) echo "$1:bookworm";; esac; }
rm -rf "$BONSAI_ROOT_DIR"
for b in debian node golang distroless-static; do
  ref=$(image_of "$b")
  if ((HAVE_BONSAI)); then "$BONSAI" --root "$BONSAI_ROOT_DIR" load -i "$BASES/$b.tar" >/dev/null; fi
  [[ -n $(docker images -q "$ref") ]] || { log "loading $b into Docker"; docker load -i "$BASES/$b.tar" >/dev/null; }
  if ! "${BUILDAH[@]}" inspect --type image "$ref" >/dev/null 2>&1; then
    log "loading $b into Buildah's private store"; "${BUILDAH[@]}" pull -q "docker-archive:$BASES/$b.tar" >/dev/null
  fi
done

# Step 3: the generated 10,000-file context (deterministic; made once). gen_file D F writes file F
# of directory D: 40-239 copies of one letter, then a newline.
CTX10K=$WORK/ctx10k
letters=abcdefghijklmnopqrstuvwxyz
gen_file() {
  local pad
  printf -v pad '%*s' $((40 + ($1 * 100 + $2) % 200)) ''
  printf '%s\n' "${pad// /${letters:$(($2 % 26)):1}}" >"$CTX10K/src/d$(printf %02d "$1")/f$(printf %02d "$2").txt"
}
if [[ ! -f $CTX10K/.complete ]]; then
  log "generating $CTX10K"
  rm -rf "$CTX10K"
  for ((d = 0; d < 100; d++)); do
    mkdir -p "$CTX10K/src/d$(printf %02d $d)"
    for ((f = 0; f < 100; f++)); do gen_file $d $f; done
  done
  cp "$APPS/node-hello/server.js" "$CTX10K/"
  printf 'FROM node:bookworm\nEXPOSE 8080\nWORKDIR /app\nCOPY . /app\nCMD node server.js\n' >"$CTX10K/Dockerfile"
  touch "$CTX10K/.complete"
fi
EDITED=$CTX10K/src/d42/f42.txt
gen_file 42 42  # back to its generated bytes, should an earlier run have stopped half way

# Step 3b: the chroot floor's root: the golang base's files, as Docker exported them (made once),
# and the build stage's RUN command and environment.
FLOOR_ROOT=$WORK/golang-rootfs
if [[ ! -f $FLOOR_ROOT.complete ]]; then
  log "exporting golang:bookworm to $FLOOR_ROOT"
  rm -rf "$FLOOR_ROOT" && mkdir -p "$FLOOR_ROOT"
  cid=$(docker create golang:bookworm /bin/true)
  docker export "$cid" | tar -x -C "$FLOOR_ROOT"
  docker rm "$cid" >/dev/null
  touch "$FLOOR_ROOT.complete"
fi
FLOOR_RUN=$(sed -n 's/^RUN //p' "$APPS/go-hello/Dockerfile.distroless" | head -1)
mapfile -t FLOOR_ENV < <(docker inspect golang:bookworm --format '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
floor_build() {  # the RUN command in a fresh copy of the context, a fresh cache, a private /proc
  rm -rf "$FLOOR_ROOT/app" "$FLOOR_ROOT/root/.cache" "$FLOOR_ROOT"/tmp/go-build*
  cp -a "$APPS/go-hello" "$FLOOR_ROOT/app"
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare -m --propagation private sh -c 'mount -t proc proc "$1/proc" && shift &&
    exec chroot "$@"' sh "$FLOOR_ROOT" "$FLOOR_ROOT" /usr/bin/env -i HOME=/root "${FLOOR_ENV[@]}" \
    sh -c "$FLOOR_RUN"
}

# Step 4: one build command per tool. build TOOL APP NOCACHE(0|1); the output goes to a log.
declare -A CONTEXT=([go-distroless]=$APPS/go-hello [node]=$APPS/node-hello [ctx10k]=$CTX10K)
declare -A DOCKERFILE=([go-distroless]=$APPS/go-hello/Dockerfile.distroless [node]=$APPS/node-hello/Dockerfile
  [ctx10k]=$CTX10K/Dockerfile)
build() {
  local tool=$1 app=$2 nc=() tag=bench-build-$2:latest
  (($3)) && nc=(--no-cache)
  case $tool in
    bonsai) "$BONSAI" --root "$BONSAI_ROOT_DIR" build "${nc[@]}" --network none --progress plain \
      -f "${DOCKERFILE[$app]}" -t "$tag" "${CONTEXT[$app]}";;
    docker) DOCKER_BUILDKIT=0 "$DOCKER_CLI" build "${nc[@]}" --network none \
      -f "${DOCKERFILE[$app]}" -t "$tag" "${CONTEXT[$app]}";;
    buildkit) DOCKER_BUILDKIT=1 "$DOCKER_CLI" build "${nc[@]}" --network none --progress plain \
      -f "${DOCKERFILE[$app]}" -t "$tag" "${CONTEXT[$app]}";;
    chroot) floor_build;;
    buildah) "${BUILDAH[@]}" bud "${nc[@]}" --layers --pull-never --network none \
      -f "${DOCKERFILE[$app]}" -t "$tag" "${CONTEXT[$app]}";;
  esac
}

# timed TOOL APP NOCACHE: prints the wall seconds, or "fail" (the log's tail goes to stderr).
timed() {
  local t0 t1 logf=$WORK/logs/$1-$2.log
  # Untimed: write back what earlier commands left dirty (a cold Go build by any tool leaves
  # hundreds of MB), so that no command is timed while the kernel flushes another's data.
  sync
  t0=$EPOCHREALTIME
  if ! build "$@" >"$logf" 2>&1; then
    log "$1 build of $2 failed:"; tail -5 "$logf" | sed 's/^/    /' >&2; echo fail; return
  fi
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}

median() {  # median of the numbers given ("fail" entries make it "n/a")
  local xs=("$@") n
  [[ " ${xs[*]} " == *" fail "* ]] && { echo n/a; return; }
  n=${#xs[@]}
  printf '%s\n' "${xs[@]}" | sort -g | awk -v n="$n" '{a[NR] = $1} END {
    printf "%.3f", (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }'
}

# Step 5: the cases. Each case: one untimed build per tool, then RUNS interleaved timed rounds.
declare -A MEDIAN
edit_count=0
measure() {  # measure APP MODE
  local app=$1 mode=$2 tool i t nocache=0 tools=("${TOOLS[@]}")
  declare -A times=()
  [[ $app/$mode == go-distroless/cold ]] && tools+=(chroot)
  [[ $mode == cold ]] && nocache=1
  log "== $app $mode"
  for tool in "${tools[@]}"; do build "$tool" "$app" 0 >"$WORK/logs/$tool-$app.warmup.log" 2>&1 || true; done
  for ((i = 0; i < RUNS; i++)); do
    for tool in "${tools[@]}"; do
      if [[ $mode == edit ]]; then
        edit_count=$((edit_count + 1))
        printf 'edited %s run %d at %s\n' "$tool" "$edit_count" "$(date +%s.%N)" >>"$EDITED"
      fi
      t=$(timed "$tool" "$app" "$nocache")
      times[$tool]+="$t "
    done
  done
  for tool in "${tools[@]}"; do
    # shellcheck disable=SC2086
    MEDIAN[$tool/$app/$mode]=$(median ${times[$tool]})
    log "   $tool: $(printf '%.3f ' ${times[$tool]//fail/0}) -> ${MEDIAN[$tool/$app/$mode]}"
  done
}

echo "build bench: $RUNS runs each, median wall seconds; $(nproc) cores; docker: classic builder, buildkit: BuildKit, both via $DOCKER_CLI" \
  "($("$DOCKER_CLI" version --format '{{.Server.Version}}')); $(buildah --version)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in "${CASES[@]}"; do
  # shellcheck disable=SC2086
  measure $c
done
gen_file 42 42
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# What starting any process costs through this harness (fork of bash, exec, exit), for reading
# the fastest cases: it is part of every time in the table.
floor=()
for ((i = 0; i < RUNS; i++)); do
  t0=$EPOCHREALTIME; /bin/true >/dev/null 2>&1; t1=$EPOCHREALTIME
  floor+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
done
echo "process start-up in this harness (/bin/true): median $(median "${floor[@]}") s"

# Step 6: the table.
ratio() {
  [[ $1 == n/a || $2 == n/a || -z $1 || -z $2 ]] && { echo n/a; return; }
  awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f" : "n/a"), a / b }'
}
echo
printf '%-14s %-5s %8s %8s %8s %8s %9s %9s %9s\n' app mode bonsai docker buildkit buildah \
  b/docker b/bkit b/buildah
for c in "${CASES[@]}"; do
  read -r app mode <<<"$c"
  b=${MEDIAN[bonsai/$app/$mode]:-n/a} d=${MEDIAN[docker/$app/$mode]} k=${MEDIAN[buildkit/$app/$mode]}
  h=${MEDIAN[buildah/$app/$mode]}
  printf '%-14s %-5s %8s %8s %8s %8s %9s %9s %9s\n' "$app" "$mode" "$b" "$d" "$k" "$h" \
    "$(ratio "$b" "$d")" "$(ratio "$b" "$k")" "$(ratio "$b" "$h")"
done
echo "(cold: --no-cache; warm: unchanged rebuild; edit: one of ctx10k's 10,000 files changed;" \
  "docker: Docker 20.10's default classic builder, buildkit: the same daemon with BuildKit;" \
  "b/X: bonsai's time over X's, < 1: bonsai is faster)"
if [[ -n ${MEDIAN[chroot/go-distroless/cold]:-} ]]; then
  f=${MEDIAN[chroot/go-distroless/cold]}
  echo "floor: go-distroless's RUN step alone in a bare chroot took $f s:" \
    "$(ratio "$f" "${MEDIAN[docker/go-distroless/cold]}")x Docker's build;" \
    "bonsai's build is $(ratio "${MEDIAN[bonsai/go-distroless/cold]:-n/a}" "$f")x the floor"
fi

# Step 7: keep the stores from growing run after run: Buildah's private store drops what no tag
# needs (its bases stay), bonsai's goes.
"${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true
rm -rf "$BONSAI_ROOT_DIR"
