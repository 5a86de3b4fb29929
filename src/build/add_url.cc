#include "build/add_url.h"

#include <fcntl.h>

#include <atomic>

#include "build/stage.h"
#include "sys/fd.h"
#include "util/sha256.h"

namespace bonsai::build {

using util::ErrorKind;
using util::fail;

bool is_url_source(std::string_view source) {
  return source.starts_with("http://") || source.starts_with("https://");
}

util::Result<Download> download_source(util::HttpClient& http, const std::string& url,
                                       const std::string& dir, const std::string& checksum) {
  // 1. The name: the last non-empty component of the path, without query or fragment.
  Download d;
  d.url = url;
  std::string path = url.substr(url.find("://") + 3);
  path = path.substr(0, path.find_first_of("?#"));
  size_t slash = path.find('/');
  path = slash == std::string::npos ? "" : path.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  d.name = path.substr(path.rfind('/') + 1);
  if (d.name.empty() || d.name == "." || d.name == "..")
    return fail(ErrorKind::kInvalidArgument,
                "ADD " + url + ": the URL names no file; give a destination file name");
  if (!checksum.empty() && !checksum.starts_with("sha256:"))
    return fail(ErrorKind::kUnsupported,
                "ADD --checksum=" + checksum + ": only sha256:<hex> checksums are supported");

  // 2. The body, hashed as it lands in a private file.
  static std::atomic<int> counter{0};
  d.path = dir + "/download-" + std::to_string(counter++);
  sys::UniqueFd fd = TRY(sys::open_file(d.path, O_WRONLY | O_CREAT | O_EXCL, 0600));
  sys::FdWriter file(fd.get(), d.path);
  util::HashingWriter hashed(&file);
  auto resp = TRY_CTX(http.get({.url = url}, hashed), "ADD");
  TRY(file.close());
  d.sha256_hex = hashed.finish_hex();
  d.last_modified = resp.last_modified;

  // 3. The checksum, before anything reaches the image.
  if (!checksum.empty() && checksum.substr(7) != d.sha256_hex)
    return fail(ErrorKind::kCorrupt, "ADD " + url + ": checksum mismatch: expected " + checksum +
                                         ", got sha256:" + d.sha256_hex);
  return d;
}

util::Status place_download(util::TreeFs& dst, const Download& d, const std::string& dest,
                            const std::optional<ChmodSpec>& chmod, uint32_t uid, uint32_t gid) {
  std::string path = tree_path(dest);
  auto at = TRY(dst.lstat(path));
  if (dest.back() == '/' || (at && at->type == util::FileType::kDirectory))
    path = tree_path(dest + "/" + d.name);
  size_t cut = path.rfind('/');
  if (cut != std::string::npos) TRY(mkdir_all(dst, path.substr(0, cut), uid, gid));
  if (TRY(dst.lstat(path))) TRY(dst.remove(path));
  sys::UniqueFd fd = TRY(sys::open_file(d.path, O_RDONLY));
  sys::FdReader in(fd.get(), d.path);
  auto out = TRY(dst.create_file(path, 0600));
  TRY(util::copy(in, *out));
  TRY(out->close());
  TRY(dst.set_mode(path, chmod ? chmod->apply(0600, false) : 0600));
  TRY(dst.set_owner(path, uid, gid));
  if (d.last_modified) TRY(dst.set_mtime(path, *d.last_modified, 0));
  return {};
}

}  // namespace bonsai::build
