#!/usr/bin/env bash
# bonsai's main job, from a fresh Debian 12 machine (as root): install what is missing, build
# bonsai, then show the content store at work.
#
# The article's story from nothing but the Debian mirror: bonsai assembles the base images from
# Debian packages (bases/*.yaml), builds the example apps in examples/ with `bonsai build` — Go
# as one `FROM golang` stage, multi-stage onto a small glibc base and onto distroless, Node
# `FROM node` — runs each image once (through Docker) to prove it serves on 8080, and prints the
# sizes largest first beside the article's. A second run reuses every cache.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_DIR:-$top/../shared}
bench=${BENCH_DIR:-/var/tmp/bonsai-bench}
export BONSAI_ROOT=${BONSAI_ROOT:-/var/lib/bonsai}

# 1. Toolchain and libraries, then bonsai itself.
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
bonsai="$top/build/bonsai"

# 2. The bases, assembled by bonsai from Debian packages alone (signed indexes, verified .debs):
#    the article's `FROM golang` and `FROM node`, a small glibc base, and distroless/static.
for spec in static:distroless/static:debian12 base:distroless/base:debian12 \
  debian:debian:bookworm golang:golang:bookworm node:node:bookworm; do
  file=${spec%%:*}
  "$bonsai" base build --progress plain -t "${spec#*:}" "$top/bases/$file.yaml" 2>&1 |
    grep -E '^#[0-9]+ (\[|DONE|CACHED|ERROR)' || { echo "demo: base $file failed" >&2; exit 1; }
done
"$bonsai" fsck

# 4. Build the article's examples with bonsai (no daemon).
ex="$top/examples"
"$bonsai" build -q -f "$ex/go-hello/Dockerfile.golang" -t go-hello:golang "$ex/go-hello"
"$bonsai" build -q -f "$ex/go-hello/Dockerfile.multistage" -t go-hello:multistage "$ex/go-hello"
"$bonsai" build -q -f "$ex/go-hello/Dockerfile.distroless" -t go-hello:distroless "$ex/go-hello"
"$bonsai" build -q -t node-hello:node "$ex/node-hello"

# 5. Run each once (through Docker, on the host's loopback) and check it answers on 8080.
bash "$shared/bench/peers-setup.sh" >/dev/null
for image in go-hello:golang go-hello:multistage go-hello:distroless node-hello:node; do
  # Docker gets the image only when it does not already hold this exact ID.
  id=$("$bonsai" inspect "$image" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
  [ "$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null)" == "$id" ] ||
    "$bonsai" save "$image" | docker load -q >/dev/null
  docker rm -f bonsai-demo >/dev/null 2>&1 || true
  docker run -d --name bonsai-demo --network host "$image" >/dev/null
  reply=""
  for _ in $(seq 50); do
    reply=$(curl -fsS http://127.0.0.1:8080/ 2>/dev/null) && break
    sleep 0.2
  done
  docker rm -f bonsai-demo >/dev/null
  [ -n "$reply" ] || { echo "demo: $image did not answer on 8080" >&2; exit 1; }
  printf '%-22s answered: %s\n' "$image" "$reply"
done

# 6. The sizes, largest first, beside the article's figures.
echo
"$bonsai" images --format json |
  python3 -c '
import json, sys
article = {"golang:bookworm": "", "node:bookworm": "", "distroless/static:debian12": "",
           "distroless/base:debian12": "", "debian:bookworm": "","go-hello:golang": "999MB", "go-hello:multistage": "12.6MB",
           "go-hello:distroless": "8.86MB", "node-hello:node": "991MB"}
rows = [json.loads(l) for l in sys.stdin if l.strip()]
rows = [r for r in rows if r["Repository"] + ":" + r["Tag"] in article]
units = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
def size(text):
    num = text.rstrip("kMGTB")
    return float(num) * units[text[len(num):]]
rows.sort(key=lambda r: -size(r["Size"]))
print("%-26s %-12s %-14s %-10s %s" % ("REPOSITORY", "TAG", "IMAGE ID", "SIZE", "ARTICLE"))
for r in rows:
    name = r["Repository"] + ":" + r["Tag"]
    print("%-26s %-12s %-14s %-10s %s" % (r["Repository"], r["Tag"], r["ID"], r["Size"], article[name]))
'

