// `bonsai base lock`: the exact packages a spec resolved to, so that a build from the lockfile
// downloads the same bytes (checked by SHA-256) and gives the same image digest on any day.
//
// The lockfile is JSON, written next to the spec as SPEC.lock (docs/debian.md):
//   {"lockfileVersion": 1, "spec": "static.yaml", "architecture": "amd64",
//    "packages": [{"name": "base-files", "version": "12.4+deb12u11", "architecture": "amd64",
//                  "multiArch": "", "suite": "bookworm", "mirror": "http://deb.debian.org/debian",
//                  "filename": "pool/main/b/base-files/...deb", "size": 70000, "sha256": "..."}]}
#pragma once

#include <string>
#include <vector>

#include "debian/package.h"

namespace bonsai::debian {

// The packages in install order.
std::string lockfile_text(const std::string& spec_name, const std::string& architecture,
                          const std::vector<Package>& packages);
// Parses a lockfile; errors name `path` and the entry. Every entry must have a safe filename, a
// size and a 64-hex-digit sha256.
util::Result<std::vector<Package>> parse_lockfile(std::string_view text, const std::string& path);

}  // namespace bonsai::debian
