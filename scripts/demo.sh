#!/usr/bin/env bash
# bonsai's main job, from a fresh Debian 12 machine (as root): install what is missing, build
# bonsai, then show the content store at work.
#
# Until `bonsai build` and the Debian base assembler land (issues 4 and 5), the demo loads the
# article's base images — built offline from Debian packages by ../shared/bench/make-bases.sh and
# saved with `docker save` — into bonsai's store and prints `bonsai images`, whose SIZE column
# matches `docker images` for the same images.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_DIR:-$top/../shared}
bench=${BENCH_DIR:-/var/tmp/bonsai-bench}
export BONSAI_ROOT=${BONSAI_ROOT:-/var/lib/bonsai}

# 1. Toolchain and libraries, then bonsai itself.
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
bonsai="$top/build/bonsai"

# 2. Base images as docker-archives (Docker is used here only to produce the archives).
bash "$shared/bench/peers-setup.sh" >/dev/null
bash "$shared/bench/make-bases.sh" >/dev/null

# 3. Load them into the store (no daemon involved) and list them as Docker would.
for base in debian golang node distroless-static; do
  "$bonsai" load -i "$bench/bases/$base.tar"
done
"$bonsai" fsck
"$bonsai" images
