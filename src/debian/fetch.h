// Downloads from a Debian mirror whose hashes are known before the first byte arrives (from a
// signed Release, or a Packages index it vouches for), kept in a cache addressed by SHA-256.
//
// Cache layout (DownloadCache::dir):
//   sha256/<hex>      verified files, published by rename only: a file there is complete and
//                     matched its hash when it was written
//   partial/<hex>     a download in progress, resumed from its size by the next attempt; a
//                     process holds flock(LOCK_EX) on it while writing, so processes fetching
//                     the same file wait for one another instead of interleaving writes
//   release/<name>    the last verified InRelease per mirror and suite, for offline reruns
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "debian/package.h"
#include "debian/release.h"
#include "util/error.h"
#include "util/http.h"

namespace bonsai::debian {

struct DownloadCache {
  std::string dir;
  // Re-hash a cached file before handing it out (its size is always checked). Off by default:
  // cached files were verified when written and are only ever replaced by rename.
  bool reverify = false;
};

// Returns the path of a cached file with this SHA-256 (64 hex digits) and size, downloading it
// from `url` first when it is not cached. A partial download left by an earlier attempt is
// resumed with a range request; if the result then fails its hash, the download is restarted
// once from byte 0 (the old bytes may have come from another version of the file).
// On failure: kCorrupt naming the URL when the download is larger than `size`, of another size,
// or hashes differently ("... SHA-256 mismatch: expected <hex>, got <hex>"), and the partial
// file is removed; a network error leaves the partial file for the next attempt to resume.
// kInvalidArgument for a malformed sha256.
// Thread- and process-safe for the same cache directory.
Result<std::string> fetch_verified(util::HttpClient& http, const DownloadCache& cache,
                                   const std::string& url, std::string_view sha256, uint64_t size);

struct IndexOptions {
  ReleaseOptions release;                 // the Valid-Until check
  std::vector<std::string> fingerprints;  // when non-empty, only these keys may sign
  std::string gpgv = "gpgv";
  // When InRelease cannot be downloaded (kIo: no network), use the last copy verified from the
  // same URL, checked again (signature and Valid-Until) as if it had just been downloaded.
  bool offline_fallback = true;
  // Stop after step 1: the verified Release only, no Packages (to check whether the indexes
  // changed since a cached resolution).
  bool release_only = false;
};

struct PackageIndex {
  Release release;
  std::vector<Package> packages;    // in index order, component after component
  bool release_from_cache = false;  // the InRelease was the saved copy (offline)
};

// Loads the binary package indexes of `components` for `arch` from a Debian mirror:
//   1. GETs <mirror>/dists/<suite>/InRelease (always fresh), verifies it with gpgv against
//      `keyrings` and parses it; its Suite or Codename must be `suite`, and it must list every
//      component and the architecture.
//   2. Fetches <component>/binary-<arch>/Packages.xz (else .gz, else the uncompressed file, as
//      the Release lists them) with fetch_verified, by hash (by-hash/SHA256/<hex>) when the Release
//      says Acquire-By-Hash, falling back to the plain path when the mirror lacks it.
//   3. Decompresses and parses every paragraph (package_from_paragraph, require_download), and
//      sets each Package's suite and mirror.
// Errors name the URL and, for index files, their path in the Release.
Result<PackageIndex> load_packages(util::HttpClient& http, const DownloadCache& cache,
                                   const std::string& mirror_url, const std::string& suite,
                                   const std::vector<std::string>& components,
                                   const std::string& arch,
                                   const std::vector<std::string>& keyrings,
                                   const IndexOptions& options = {});

}  // namespace bonsai::debian
