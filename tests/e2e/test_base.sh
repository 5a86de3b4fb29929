#!/usr/bin/env bash
# `bonsai base`: base images assembled from Debian packages, from the host's Debian mirror.
#
#  1. static: the same files as ../shared/bench/make-bases.sh's distroless archive (path, type,
#     mode, owner, size, sha256, link target), plus only what that archive lacks by design (the
#     CA bundle, status.d for ca-certificates and every .md5sums); within 10% of its size once
#     those are set aside; dpkg records for every package.
#  2. Lockfile: two builds from one lockfile, in two fresh stores, give one image digest.
#  3. Tampering: a .deb, a Packages index and an InRelease altered on a loopback mirror are each
#     refused with an error naming the file, and the store is left as it was.
#  4. debian: apt-get installs from the mirror; golang: builds and serves the Go example;
#     node: serves the Node example (both run under Docker on 127.0.0.1:8080).
source "$(dirname "$0")/lib.sh"
need_docker
need_bases distroless-static
TREE="python3 $SRC/tests/e2e/tar_tree.py"
containers=()
servers=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done
  for t in static golang node; do docker rmi -f "bonsai-test-base-$t" >/dev/null 2>&1; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The file tree of an image archive (docker-archive), layers applied in order (no whiteouts in
# these images).
flat_tree() {
  local archive=$1 dir=$2
  mkdir -p "$dir/x" "$dir/root"
  tar -xf "$archive" -C "$dir/x"
  python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))[0]['Layers']))" \
    "$dir/x/manifest.json" | while read -r l; do tar -xf "$dir/x/$l" -C "$dir/root"; done
  tar -C "$dir/root" -c . | $TREE
}

# 1. static against the reference distroless archive.
check "base build static" "$BONSAI" base build -q -t distroless/static:test "$SRC/bases/static.yaml"
"$BONSAI" save distroless/static:test -o "$WORK/static.tar"
flat_tree "$WORK/static.tar" "$WORK/ours" >"$WORK/ours.txt"
flat_tree "$BASES/distroless-static.tar" "$WORK/ref" >"$WORK/ref.txt"
python3 - "$WORK/ref.txt" "$WORK/ours.txt" "$WORK/ours/root" "$WORK/ref/root" >"$WORK/static-cmp.txt" <<'PY'
import os, re, sys
def load(f):
    return {l.split(" ", 1)[0]: l.split(" ", 1)[1].strip() for l in open(f)}
ref, ours = load(sys.argv[1]), load(sys.argv[2])
allowed_extra = re.compile(r"^/etc/ssl(/certs(/ca-certificates\.crt)?)?$|"
                           r"^/var/lib/dpkg/status\.d/(ca-certificates|[^/]+\.md5sums)$")
missing = sorted(set(ref) - set(ours))
extra = sorted(p for p in set(ours) - set(ref) if not allowed_extra.match(p))
# /home/nonroot is 0700 and owned by nonroot in distroless; make-bases leaves it 0755 root.
differ = sorted(p for p in set(ref) & set(ours) if ref[p] != ours[p] and p != "/home/nonroot")
def size(root, paths):
    return sum(os.lstat(root + p).st_size for p in paths if os.path.isfile(root + p) or os.path.islink(root + p))
extras = sorted(set(ours) - set(ref))
ours_total, ref_total = size(sys.argv[3], ours), size(sys.argv[4], ref)
print(f"entries: ref {len(ref)}, ours {len(ours)}; missing {len(missing)}, unexpected {len(extra)}, differing {len(differ)}")
print(f"bytes: ref {ref_total}, ours {ours_total} ({ours_total / ref_total:.3f}x), "
      f"ours without the CA bundle and md5sums {ours_total - size(sys.argv[3], extras)} "
      f"({(ours_total - size(sys.argv[3], extras)) / ref_total:.3f}x)")
for p in missing[:5]: print("missing", p)
for p in extra[:5]: print("unexpected", p)
for p in differ[:5]: print("differs", p, "ref:", ref[p], "ours:", ours[p])
ok = not missing and not extra and not differ and (ours_total - size(sys.argv[3], extras)) <= 1.10 * ref_total
sys.exit(0 if ok else 1)
PY
rc=$?
sed 's/^/    /' "$WORK/static-cmp.txt"
if [ $rc -eq 0 ]; then ok "static: same files as make-bases' distroless, within 10% of its size"; else not_ok "static: file tree or size differs from make-bases' distroless"; fi
missing_records=""
for p in base-files netbase tzdata media-types ca-certificates; do
  [ -s "$WORK/ours/root/var/lib/dpkg/status.d/$p" ] && [ -s "$WORK/ours/root/var/lib/dpkg/status.d/$p.md5sums" ] ||
    missing_records+=" $p"
done
equal "static: status.d and md5sums for each of its 5 packages" "" "$missing_records"
equal "static: CA bundle holds every Mozilla certificate" \
  "$(grep -c 'BEGIN CERTIFICATE' "$WORK/ours/root/etc/ssl/certs/ca-certificates.crt" | awk '{print ($1 > 100)}')" 1
equal "static: passwd as distroless" "root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" "$(cat "$WORK/ours/root/etc/passwd")"

# 2. A lockfile pins the image: two fresh stores, one digest.
check "base lock static" "$BONSAI" base lock -o "$WORK/static.lock" "$SRC/bases/static.yaml"
id1=$(BONSAI_ROOT=$WORK/store-a "$BONSAI" base build -q --lock "$WORK/static.lock" "$SRC/bases/static.yaml")
id2=$(BONSAI_ROOT=$WORK/store-b "$BONSAI" base build -q --lock "$WORK/static.lock" "$SRC/bases/static.yaml")
equal "lockfile: two builds in two stores give one image ID" "$id1" "$id2"
[ -n "$id1" ] && ok "lockfile build gave $id1" || not_ok "lockfile build gave no ID"
equal "lockfile: the same image as resolving afresh" \
  "$("$BONSAI" inspect distroless/static:test | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')" "$id1"

# 3. Tampering, on a loopback mirror holding copies of the real files.
mirror=$WORK/mirror
port=$((20000 + RANDOM % 20000))
mkdir -p "$mirror"
python3 -m http.server -b 127.0.0.1 "$port" -d "$mirror" >/dev/null 2>&1 &
servers+=($!)
real=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['packages'][0]['mirror'])" "$WORK/static.lock")
deb=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['packages'][-1]['filename'])" "$WORK/static.lock")
python3 - "$WORK/static.lock" "http://127.0.0.1:$port/debian" "$mirror" <<'PY'
import json, sys, shutil, urllib.request, os
lock = json.load(open(sys.argv[1]))
for p in lock["packages"]:
    dest = os.path.join(sys.argv[3], "debian", p["filename"])
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with urllib.request.urlopen(p["mirror"] + "/" + p["filename"]) as r, open(dest, "wb") as f:
        shutil.copyfileobj(r, f)
    p["mirror"] = sys.argv[2]
json.dump(lock, open(sys.argv[1] + ".local", "w"), indent=2)
PY
for _ in $(seq 20); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
check "a build from the loopback mirror's copies succeeds" \
  env BONSAI_ROOT="$WORK/store-c" "$BONSAI" base build -q --lock "$WORK/static.lock.local" "$SRC/bases/static.yaml"
printf 'X' | dd of="$mirror/debian/$deb" bs=1 seek=2000 conv=notrunc status=none
before=$(BONSAI_ROOT=$WORK/store-d "$BONSAI" images -q | wc -l)
expect_fail "a tampered .deb is refused, naming it and both hashes" \
  "$(basename "$deb" | sed 's/[.+]/\\&/g').*SHA-256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}" \
  env BONSAI_ROOT="$WORK/store-d" "$BONSAI" base build -q -t tampered:x --lock "$WORK/static.lock.local" "$SRC/bases/static.yaml"
equal "the store is as it was after the refused build" "$before" "$(BONSAI_ROOT=$WORK/store-d "$BONSAI" images -q | wc -l)"

# A signed suite whose Packages index was altered after signing.
dists=$mirror/debian/dists/bookworm
mkdir -p "$dists/main/binary-amd64"
curl -fsS "$real/dists/bookworm/InRelease" -o "$dists/InRelease"
curl -fsS "$real/dists/bookworm/main/binary-amd64/Packages.xz" -o "$dists/main/binary-amd64/Packages.xz"
printf 'X' | dd of="$dists/main/binary-amd64/Packages.xz" bs=1 seek=5000 conv=notrunc status=none
cat >"$WORK/local.yaml" <<YAML
extends: $SRC/bases/static.yaml
suites: [bookworm]
mirror: http://127.0.0.1:$port/debian
YAML
expect_fail "a tampered Packages index is refused, naming it" "Packages.*(sha256|SHA-256|hash|size)" \
  env BONSAI_ROOT="$WORK/store-e" "$BONSAI" base build -q --no-lock -t tampered:x "$WORK/local.yaml"
sed -i '0,/^Date:/s/^Date: .*/Date: Sat, 01 Jan 2000 00:00:00 UTC/' "$dists/InRelease"
expect_fail "an altered InRelease fails its signature check" "InRelease.*(signature|BADSIG|gpgv)" \
  env BONSAI_ROOT="$WORK/store-f" "$BONSAI" base build -q --no-lock -t tampered:x "$WORK/local.yaml"
equal "no image was named after the refused builds" "" \
  "$(for s in d e f; do BONSAI_ROOT=$WORK/store-$s "$BONSAI" images tampered 2>/dev/null | tail -n +2; done)"

# 4. The configured bases do their jobs.
check "base build debian" "$BONSAI" base build -q -t debian:bookworm "$SRC/bases/debian.yaml"
mkdir -p "$WORK/apt"
printf 'FROM debian:bookworm\nRUN apt-get update -q && apt-get install -y -q --no-install-recommends hello && hello\n' >"$WORK/apt/Dockerfile"
check "debian: apt-get install hello from the mirror (RUN --network host)" \
  "$BONSAI" build --network host --progress plain -t apt:test "$WORK/apt"

serve_check() {
  local what=$1 image=$2 cid out=""
  if curl -fsS --max-time 2 http://127.0.0.1:8080/ >/dev/null 2>&1; then not_ok "$what (8080 is taken)"; return; fi
  "$BONSAI" save "$image" | docker load -q >/dev/null
  cid=$(docker run -d --network host "$image") || { not_ok "$what (docker run failed)"; return; }
  containers+=("$cid")
  for _ in $(seq 60); do out=$(curl -fsS --max-time 2 http://127.0.0.1:8080/ 2>/dev/null) && break; sleep 0.25; done
  if [[ $out == "Hello from a small image" ]]; then ok "$what"; else
    not_ok "$what (got '$out')"; docker logs "$cid" 2>&1 | tail -5 | sed 's/^/    /'; fi
  docker rm -f "$cid" >/dev/null
}
check "base build golang" "$BONSAI" base build -q -t golang:bookworm "$SRC/bases/golang.yaml"
check "golang base builds the Go example" "$BONSAI" build -q -t bonsai-test-base-golang \
  -f "$SRC/examples/go-hello/Dockerfile.golang" "$SRC/examples/go-hello"
serve_check "golang: the Go example serves on 8080" bonsai-test-base-golang
check "base build node" "$BONSAI" base build -q -t node:bookworm "$SRC/bases/node.yaml"
check "node base builds the Node example" "$BONSAI" build -q -t bonsai-test-base-node "$SRC/examples/node-hello"
serve_check "node: node server.js serves on 8080" bonsai-test-base-node
"$BONSAI" images | sed 's/^/    /'
finish
