#!/usr/bin/env bash
# The store is an OCI image layout that the peers read as is: skopeo inspect and copy, umoci
# unpack; and an OCI archive written by skopeo loads into bonsai.
source "$(dirname "$0")/lib.sh"
need_bases distroless-static golang
command -v skopeo >/dev/null && command -v umoci >/dev/null || { echo "FAIL: skopeo/umoci missing: run peers-setup.sh"; exit 1; }

check "load distroless" "$BONSAI" load -i "$BASES/distroless-static.tar"
check "load golang" "$BONSAI" load -i "$BASES/golang.tar"

# 1. skopeo reads tags and layers straight from the store.
out=$(skopeo inspect "oci:$BONSAI_ROOT:golang:bookworm" 2>&1)
layers=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Layers"]))' <<<"$out" 2>/dev/null)
equal "skopeo inspect oci:\$ROOT:golang:bookworm sees 3 layers" "3" "$layers"
cfg=$(skopeo inspect --raw "oci:$BONSAI_ROOT:golang:bookworm" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"][7:19])')
equal "skopeo sees the image ID bonsai shows" "$("$BONSAI" images -q golang:bookworm)" "$cfg"

# 2. umoci unpacks an image from the store into a runtime bundle.
check "umoci unpack distroless" umoci unpack --image "$BONSAI_ROOT:distroless/static:debian12" "$WORK/bundle"
equal "unpacked rootfs has /etc/passwd from the image" "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" \
  "$(grep nonroot "$WORK/bundle/rootfs/etc/passwd" 2>/dev/null)"

# 3. skopeo copies from the store to a real registry and back out as an OCI archive.
if curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  check "skopeo copy store -> registry" skopeo copy --dest-tls-verify=false \
    "oci:$BONSAI_ROOT:distroless/static:debian12" docker://127.0.0.1:5000/bonsai-e2e/static:1
  check "skopeo copy registry -> oci-archive" skopeo copy --src-tls-verify=false \
    docker://127.0.0.1:5000/bonsai-e2e/static:1 "oci-archive:$WORK/static-oci.tar:bonsai-e2e/static:1"
  check "bonsai loads skopeo's OCI archive (gzip layers)" env BONSAI_ROOT="$WORK/s3" "$BONSAI" load -i "$WORK/static-oci.tar"
  equal "the reloaded image keeps its ID" "$("$BONSAI" images -q distroless/static:debian12)" \
    "$(BONSAI_ROOT=$WORK/s3 "$BONSAI" images -q bonsai-e2e/static:1)"
  equal "and its SIZE" "$("$BONSAI" images --format json distroless/static:debian12 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["Size"])')" \
    "$(BONSAI_ROOT=$WORK/s3 "$BONSAI" images --format json bonsai-e2e/static | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["Size"])')"
else
  not_ok "registry on 127.0.0.1:5000 is not running: run peers-setup.sh"
fi

# 4. bonsai's OCI archive is readable by skopeo.
check "save --format oci" "$BONSAI" save --format oci -o "$WORK/ds-oci.tar" distroless/static:debian12
check "skopeo inspect bonsai's oci-archive" skopeo inspect "oci-archive:$WORK/ds-oci.tar:distroless/static:debian12"
finish
