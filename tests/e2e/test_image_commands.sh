#!/usr/bin/env bash
# tag, rmi, prune, history, inspect and images behave as their Docker counterparts; bad input
# gets a clear error naming the file and place, exits non-zero and leaves the store as it was.
source "$(dirname "$0")/lib.sh"
need_bases distroless-static debian

check "load distroless" "$BONSAI" load -i "$BASES/distroless-static.tar"
id=$("$BONSAI" images -q distroless/static:debian12)

# 1. tag / images / rmi.
check "tag" "$BONSAI" tag distroless/static:debian12 localhost:5000/me/static:v1
equal "both tags listed" "$(printf 'distroless/static debian12\nlocalhost:5000/me/static v1')" \
  "$("$BONSAI" images --format json | python3 -c 'import json,sys
for l in sorted(sys.stdin): j=json.loads(l); print(j["Repository"], j["Tag"])')"
expect_fail "rmi by ID with two tags needs -f" "must be forced" "$BONSAI" rmi "$id"
equal "rmi of one tag only untags" "Untagged: localhost:5000/me/static:v1" "$("$BONSAI" rmi localhost:5000/me/static:v1)"
expect_fail "rmi of an unknown image" "No such image: nosuch$" "$BONSAI" rmi nosuch
expect_fail "tag with an invalid name" "invalid reference format" "$BONSAI" tag "$id" "Bad/Name"

# 2. history: one row per step, newest first, the top row with the image ID.
rows=$("$BONSAI" history distroless/static:debian12 | tail -n +2 | wc -l)
equal "history has the image's steps" "$(docker history -q distroless/static:debian12 2>/dev/null | wc -l || echo "$rows")" "$rows"
equal "history top row is the image" "$id" "$("$BONSAI" history -q distroless/static:debian12)"

# 3. inspect: Docker's fields.
check "inspect gives Id, RepoTags, Config, RootFS" bash -c \
  "'$BONSAI' inspect distroless/static:debian12 | python3 -c 'import json,sys; j=json.load(sys.stdin)[0]; assert j[\"Id\"].endswith(\"$id\") or j[\"Id\"][7:19]==\"$id\"; assert j[\"RepoTags\"]==[\"distroless/static:debian12\"]; assert j[\"RootFS\"][\"Type\"]==\"layers\"; assert j[\"Size\"]>0'"
expect_fail "inspect of a missing image fails" "No such image" "$BONSAI" inspect nosuch:1

# 4. A load that moves a tag leaves the old image dangling; prune removes it and its blobs.
check "load debian" "$BONSAI" load -i "$BASES/debian.tar"
check "retag debian as the distroless name" "$BONSAI" tag debian:bookworm distroless/static:debian12
equal "the old image is now <none>" "<none> <none> $id" "$("$BONSAI" images | awk -v id="$id" '$3==id {print $1, $2, $3}')"
before=$(ls "$BONSAI_ROOT/blobs/sha256" | wc -l)
check "prune" "$BONSAI" prune
after=$(ls "$BONSAI_ROOT/blobs/sha256" | wc -l)
equal "prune removed the dangling image's 3 blobs" "$((before - 3))" "$after"
check "fsck clean after prune" "$BONSAI" fsck

# 5. Bad input: clear errors naming the file and place; the store is unchanged.
cp "$BONSAI_ROOT/index.json" "$WORK/index.before"
head -c 100000 "$BASES/debian.tar" >"$WORK/truncated.tar"
expect_fail "truncated archive" "load .*truncated.tar: .*(unexpected end|truncated)" "$BONSAI" load -i "$WORK/truncated.tar"
echo "not a tar at all" >"$WORK/garbage.tar"
expect_fail "garbage archive" "load .*garbage.tar" "$BONSAI" load -i "$WORK/garbage.tar"
expect_fail "missing file" "load: open $WORK/nosuch.tar: No such file" "$BONSAI" load -i "$WORK/nosuch.tar"
mkdir -p "$WORK/bad" && (cd "$WORK/bad" && tar xf "$BASES/distroless-static.tar" && echo '[{"Config":"nosuch.json","RepoTags":["x:y"],"Layers":[]}]' >manifest.json && tar cf ../bad.tar .)
expect_fail "manifest.json naming a missing config" "manifest.json: image 1: .*nosuch.json" "$BONSAI" load -i "$WORK/bad.tar"
(cd "$WORK/bad" && echo '[{"Config":"a","Config":"b"}]' >manifest.json && tar cf ../dup.tar .)
expect_fail "manifest.json with a duplicate key" "manifest.json: duplicate key \"Config\"" "$BONSAI" load -i "$WORK/dup.tar"
equal "index.json unchanged by failed loads" "$(cat "$WORK/index.before")" "$(cat "$BONSAI_ROOT/index.json")"
check "fsck clean after failed loads" "$BONSAI" fsck
expect_fail "unknown flag exits with a usage error" "bonsai: error: .*--nosuch" "$BONSAI" images --nosuch
"$BONSAI" images --nosuch >/dev/null 2>&1; equal "usage errors exit 2" "2" "$?"
expect_fail "save to a terminal-less stdout needs an image" "images is required" "$BONSAI" save
finish
