#!/usr/bin/env bash
# `bonsai build` against `docker build` on the article's sample apps: for each app, both builds
# start from the same base archives, and the final images must have the same file tree (path,
# type, mode, owner, size, content digest, link target; mtimes aside) and the same Config fields
# Env, Cmd, Entrypoint, WorkingDir, ExposedPorts, User and Labels. bonsai's image must then run
# under Docker and answer on http://127.0.0.1:8080/.
#
# Docker's side is built with BuildKit (DOCKER_BUILDKIT=1), the builder whose behaviour bonsai
# follows. Docker 20.10's daemon has BuildKit built in, and the 20.10 CLI drives it without the
# buildx plugin; where `docker` is a newer CLI without buildx (as on the bench machine, whose
# /usr/local/bin/docker is 28.x), the 20.10 CLI from Debian's docker.io (/usr/bin/docker) is
# used. The daemon has no bridge network, so both builders run steps with --network none. If no
# CLI can use BuildKit, the classic builder is used and the test says so.
#
# Docker's images are kept between runs as bonsai-test-docker-<app>; rebuilding them is then a
# BuildKit cache hit (BuildKit checks the context, the Dockerfile and the base image), and their
# file trees are kept in $BENCH_DIR/e2e-cache by image ID (the ID names the config, which names
# every layer's digest, so a listing cannot go stale). bonsai's images are always built afresh
# in a private store and removed from Docker at the end.
source "$(dirname "$0")/lib.sh"
need_docker
need_bases debian golang node distroless-static
command -v python3 >/dev/null || { echo "FAIL: python3 is missing: run scripts/install-deps.sh"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl is missing: run scripts/install-deps.sh"; exit 1; }
APPS=${APPS:-$SRC/../shared/bench/apps}
TREE="python3 $SRC/tests/e2e/tar_tree.py --no-content /root/.cache/go-build"
CACHE=$BENCH_DIR/e2e-cache
mkdir -p "$CACHE"
containers=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  for t in go-distroless go-multistage go-onbuild node; do docker rmi -f "bonsai-test-bonsai-$t" >/dev/null 2>&1; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# 1. Pick Docker's builder (see the top comment).
DOCKER_BUILD=(env DOCKER_BUILDKIT=0 docker build)
builder="the classic builder"
for cli in docker /usr/bin/docker; do
  command -v "$cli" >/dev/null || continue
  if "$cli" buildx version >/dev/null 2>&1 ||
    [[ $("$cli" version --format '{{.Client.Version}}' 2>/dev/null) == 20.10.* ]]; then
    DOCKER_BUILD=(env DOCKER_BUILDKIT=1 "$cli" build)
    builder="BuildKit (via $cli)"
    break
  fi
done
echo "docker side: $builder"

# 2. The same bases in both: load each archive into bonsai's store, and into Docker unless Docker
#    already has that very image under the name.
for b in debian golang node distroless-static; do
  check "bonsai load $b.tar" "$BONSAI" load -i "$BASES/$b.tar"
done
for ref in debian:bookworm golang:bookworm node:bookworm distroless/static:debian12; do
  file=$BASES/$(case $ref in distroless/*) echo distroless-static;; *) echo "${ref%%:*}";; esac).tar
  want=$("$BONSAI" images -q "$ref")
  if [[ -z $want || $(docker images -q "$ref") != "$want" ]]; then
    docker load -i "$file" >/dev/null
  fi
  equal "Docker and bonsai have the same $ref" "$want" "$(docker images -q "$ref")"
done

# tree IMAGE OUT: the file tree of IMAGE as tar_tree.py lists it, from `docker export`.
tree() {
  local c
  c=$(docker create --network none "$1" unused-command) || return 1
  containers+=("$c")
  docker export "$c" | $TREE >"$2.tmp" && mv "$2.tmp" "$2"
  local rc=$?
  docker rm -f "$c" >/dev/null
  return $rc
}

# compare_trees WHAT A B: equal lists, or the number of differing lines and the first few.
compare_trees() {
  if cmp -s "$2" "$3"; then ok "$1"; return; fi
  not_ok "$1 ($(diff "$2" "$3" | grep -c '^[<>]') lines differ; < docker, > bonsai)"
  diff "$2" "$3" | grep '^[<>]' | head -30 | sed 's/^/    /'
}

# serves WHAT IMAGE: `docker run -d --network host IMAGE` answers on port 8080.
serves() {
  local what=$1 image=$2 cid out=""
  if curl -fsS --max-time 2 http://127.0.0.1:8080/ >/dev/null 2>&1; then
    not_ok "$what (something already listens on 127.0.0.1:8080)"; return
  fi
  cid=$(docker run -d --network host "$image") || { not_ok "$what (docker run failed)"; return; }
  containers+=("$cid")
  for _ in $(seq 40); do
    out=$(curl -fsS --max-time 2 http://127.0.0.1:8080/ 2>/dev/null) && break
    sleep 0.25
  done
  if [[ $out == "Hello from a small image" ]]; then ok "$what"; else
    not_ok "$what (got '${out}')"; docker logs "$cid" 2>&1 | tail -5 | sed 's/^/    /'
  fi
  docker rm -f "$cid" >/dev/null
}

# 3. Each app: docker build, bonsai build, then trees, config and a run.
parity() {
  local name=$1 dir=$APPS/$2 dockerfile=$APPS/$2/$3
  local dtag=bonsai-test-docker-$name btag=bonsai-test-bonsai-$name did dtree btree
  echo "--- $name ($2/$3)"
  if ! "${DOCKER_BUILD[@]}" -q --network none -f "$dockerfile" -t "$dtag" "$dir" >"$WORK/$name.docker.log" 2>&1; then
    not_ok "$name: docker build"; tail -20 "$WORK/$name.docker.log" | sed 's/^/    /'; return
  fi
  if ! "$BONSAI" build --network none --progress plain -f "$dockerfile" -t "$btag" "$dir" \
    >"$WORK/$name.bonsai.log" 2>&1; then
    not_ok "$name: bonsai build"; tail -20 "$WORK/$name.bonsai.log" | sed 's/^/    /'; return
  fi
  ok "$name: bonsai build"
  docker rmi -f "$btag" >/dev/null 2>&1
  if ! "$BONSAI" save "$btag" | docker load >/dev/null; then not_ok "$name: bonsai save | docker load"; return; fi
  ok "$name: bonsai save | docker load"

  did=$(docker images -q --no-trunc "$dtag")
  dtree=$CACHE/tree-v2-${did#sha256:}.txt  # v2: tar_tree.py format; bump when it changes
  [[ -s $dtree ]] || tree "$dtag" "$dtree" || { not_ok "$name: list docker's tree"; return; }
  btree=$WORK/$name.bonsai.tree
  if tree "$btag" "$btree"; then
    compare_trees "$name: same file tree as docker build ($(wc -l <"$dtree") entries)" "$dtree" "$btree"
  else
    not_ok "$name: list bonsai's tree"
  fi
  for field in Env Cmd Entrypoint WorkingDir ExposedPorts User Labels; do
    equal "$name: Config.$field" "$(docker image inspect --format "{{json .Config.$field}}" "$dtag")" \
      "$(docker image inspect --format "{{json .Config.$field}}" "$btag")"
  done
  echo "    layers: docker $(docker image inspect --format '{{len .RootFS.Layers}}' "$dtag")," \
    "bonsai $(docker image inspect --format '{{len .RootFS.Layers}}' "$btag")"
  serves "$name: bonsai's image answers on :8080 under docker run" "$btag"
}

parity go-distroless go-hello Dockerfile.distroless
parity go-multistage go-hello Dockerfile.multistage
parity go-onbuild go-hello Dockerfile.onbuild
parity node node-hello Dockerfile
finish
