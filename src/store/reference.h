// Image references as users type them ("golang", "golang:bookworm",
// "localhost:5000/team/app:v1", "docker.io/library/node:bookworm") and the tag names bonsai
// stores in index.json (org.opencontainers.image.ref.name), which are the short form Docker
// shows: "golang:bookworm", "localhost:5000/team/app:v1".
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace bonsai::store {

struct Reference {
  std::string repository;  // "golang", "localhost:5000/team/app"
  std::string tag;         // "bookworm"; "latest" when omitted

  std::string str() const { return repository + ":" + tag; }
};

// Parses and normalises a tag reference per Docker's grammar: lowercase path components of
// [a-z0-9] separated by '.', '_', '__' or '-'+, an optional registry host[:port] first, a tag of
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. "docker.io/library/x" and "docker.io/x" shorten to "x".
// Digest references ("x@sha256:…") are rejected here: they name content, not tags.
util::Result<Reference> parse_reference(std::string_view text);

}  // namespace bonsai::store
