// ADD <url>: the file is fetched by bonsai (on the host's network, never inside the sandbox),
// checked against --checksum when given, and placed as Docker places it: into the destination
// when that is a directory or ends in '/', named after the last component of the URL's path,
// otherwise at the destination itself; mode 0600 unless --chmod; mtime from Last-Modified.
// Remote archives are not extracted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "build/copy.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/http.h"

namespace bonsai::build {

struct Download {
  std::string url;
  std::string name;  // last component of the URL's path
  std::string path;  // host file holding the body
  std::string sha256_hex;
  std::optional<int64_t> last_modified;
};

bool is_url_source(std::string_view source);

// Fetches url into a new file in dir. checksum is empty or "sha256:<hex>"; a mismatch is a
// kCorrupt error naming the URL and both digests.
util::Result<Download> download_source(util::HttpClient& http, const std::string& url,
                                       const std::string& dir, const std::string& checksum);

// Writes the download into the image tree at dest (absolute; a trailing '/' marks a directory).
util::Status place_download(util::TreeFs& dst, const Download& d, const std::string& dest,
                            const std::optional<ChmodSpec>& chmod, uint32_t uid, uint32_t gid);

}  // namespace bonsai::build
