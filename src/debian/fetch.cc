#include "debian/fetch.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "archive/compress.h"
#include "sys/fd.h"
#include "util/sha256.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;
using util::fail;
using util::sys_fail;

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::string> hash_fd(int fd, const std::string& name) {
  if (::lseek(fd, 0, SEEK_SET) < 0) return sys_fail("seek " + name);
  sys::FdReader in(fd, name);
  util::Sha256 hash;
  std::string buf(1 << 20, '\0');
  for (;;) {
    size_t n = TRY(in.read(std::span<char>(buf.data(), buf.size())));
    if (n == 0) break;
    hash.update(std::string_view(buf.data(), n));
  }
  return hash.finish_hex();
}

// True when a complete, matching file is at `path`. A cached file of the wrong size (or hash,
// when re-verifying) is removed so that it is fetched again.
Result<bool> cached(const std::string& path, std::string_view sha256, uint64_t size,
                    bool reverify) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return sys_fail("stat " + path);
  }
  bool ok = static_cast<uint64_t>(st.st_size) == size;
  if (ok && reverify) {
    sys::UniqueFd fd = TRY(sys::open_file(path, O_RDONLY));
    ok = TRY(hash_fd(fd.get(), path)) == sha256;
  }
  if (!ok && ::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_fail("remove " + path);
  return ok;
}

// Opens and locks the partial file. Another process may publish (rename) or remove the file
// while we wait for the lock; the lock is ours only if the file is still the one at `path`.
Result<sys::UniqueFd> lock_partial(const std::string& path) {
  for (;;) {
    sys::UniqueFd fd = TRY(sys::open_file(path, O_RDWR | O_CREAT, 0644));
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return sys_fail("lock " + path);
    }
    struct stat held, now;
    if (::fstat(fd.get(), &held) != 0) return sys_fail("stat " + path);
    if (::stat(path.c_str(), &now) == 0 && now.st_ino == held.st_ino && now.st_dev == held.st_dev)
      return fd;
  }
}

Result<uint64_t> file_size(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return sys_fail("stat " + path);
  return static_cast<uint64_t>(st.st_size);
}

// Appends the rest of the file to the locked partial file. Returns the size it had before.
Result<uint64_t> download_rest(util::HttpClient& http, int fd, const std::string& partial,
                               const std::string& url, uint64_t size) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return sys_fail("stat " + partial);
  uint64_t have = static_cast<uint64_t>(st.st_size);
  if (have > size) {
    if (::ftruncate(fd, 0) != 0) return sys_fail("truncate " + partial);
    have = 0;
  }
  if (have == size) return have;
  if (::lseek(fd, static_cast<off_t>(have), SEEK_SET) < 0) return sys_fail("seek " + partial);
  sys::FdWriter out(fd, partial);
  auto got = http.get({.url = url, .max_bytes = size, .offset = have}, out);
  if (!got && got.error().kind() == ErrorKind::kLimit)
    return fail(ErrorKind::kCorrupt,
                fmt::format("GET {}: larger than the expected {} bytes", url, size));
  if (!got) return std::unexpected(std::move(got).error());
  return have;
}

// Checks the partial file's size and hash; on success it is published as `final_path`.
Result<bool> publish_if_valid(int fd, const std::string& partial, const std::string& final_path,
                              const std::string& url, std::string_view sha256, uint64_t size,
                              std::string* mismatch) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return sys_fail("stat " + partial);
  if (static_cast<uint64_t>(st.st_size) != size) {
    *mismatch = fmt::format("GET {}: got {} bytes, expected {}", url, st.st_size, size);
    return false;
  }
  std::string actual = TRY(hash_fd(fd, partial));
  if (actual != sha256) {
    *mismatch = fmt::format("GET {}: SHA-256 mismatch: expected {}, got {}", url, sha256, actual);
    return false;
  }
  TRY(sys::fsync_fd(fd, partial));
  TRY(sys::rename_file(partial, final_path));
  TRY(sys::fsync_dir(final_path.substr(0, final_path.rfind('/'))));
  return true;
}

}  // namespace

Result<std::string> fetch_verified(util::HttpClient& http, const DownloadCache& cache,
                                   const std::string& url, std::string_view sha256_in,
                                   uint64_t size) {
  std::string sha256(sha256_in);
  std::transform(sha256.begin(), sha256.end(), sha256.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  if (!is_sha256_hex(sha256))
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("GET {}: bad expected SHA-256 \"{}\"", url, sha256_in));
  std::string final_path = cache.dir + "/sha256/" + sha256;
  std::string partial = cache.dir + "/partial/" + sha256;

  // 1. Already cached?
  if (TRY(cached(final_path, sha256, size, cache.reverify))) return final_path;
  TRY(sys::mkdir_p(cache.dir + "/sha256"));
  TRY(sys::mkdir_p(cache.dir + "/partial"));

  // 2. Take the partial file; whoever held it before us may have finished the job.
  sys::UniqueFd fd = TRY(lock_partial(partial));
  if (TRY(cached(final_path, sha256, size, false))) {
    ::unlink(partial.c_str());
    return final_path;
  }

  // 3. Download what is missing and check it. A transfer cut off midway is resumed while it
  //    makes progress (the client itself retries failures before the first byte). A resumed
  //    download that fails its check is tried once more from byte 0: the bytes we had may
  //    belong to another version of the file.
  constexpr int kResumes = 3;
  for (int attempt = 0, resumes = 0;; ++attempt) {
    uint64_t before = TRY(file_size(fd.get(), partial));
    auto had = download_rest(http, fd.get(), partial, url, size);
    if (!had) {
      if (had.error().kind() == ErrorKind::kCorrupt) ::unlink(partial.c_str());
      if (had.error().kind() == ErrorKind::kIo && resumes < kResumes &&
          TRY(file_size(fd.get(), partial)) > before) {
        ++resumes;
        continue;
      }
      return std::unexpected(std::move(had).error());
    }
    std::string mismatch;
    if (TRY(publish_if_valid(fd.get(), partial, final_path, url, sha256, size, &mismatch)))
      return final_path;
    if (*had > 0 && attempt == 0) {
      if (::ftruncate(fd.get(), 0) != 0) return sys_fail("truncate " + partial);
      continue;
    }
    ::unlink(partial.c_str());
    return fail(ErrorKind::kCorrupt, mismatch);
  }
}

// Package indexes ----------------------------------------------------------------------------

namespace {

// apt's name for a saved index: the URL without its scheme, '/' turned into '_'.
std::string saved_name(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos)
    url.remove_prefix(scheme + 3);
  std::string out;
  for (char c : url) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '~';
    out += keep ? c : '_';
  }
  return out;
}

// Step 1: the InRelease, fresh from the mirror or (offline) the last verified copy.
Result<PackageIndex> fetch_release(util::HttpClient& http, const DownloadCache& cache,
                                   const std::string& dists_url, const std::string& suite,
                                   const VerifyOptions& verify, const IndexOptions& options) {
  std::string url = dists_url + "/InRelease";
  std::string saved = cache.dir + "/release/" + saved_name(url);
  PackageIndex out;
  std::string document;
  util::StringWriter body;
  // With a verified copy to fall back on, a failure is not retried: the copy is used at once.
  bool fallback = options.offline_fallback && sys::exists(saved);
  util::HttpRequest request{.url = url, .max_bytes = 64 << 20, .timeout_seconds = 600};
  if (fallback) request.retries = 0;
  auto got = http.get(request, body);
  if (got) {
    document = std::move(body.str());
  } else if (fallback && got.error().kind() == ErrorKind::kIo) {
    document = TRY(sys::read_file(saved, 64 << 20));
    out.release_from_cache = true;
  } else {
    return std::unexpected(std::move(got).error());
  }
  out.release = TRY(read_inrelease(document, url, verify, options.release));
  if (!out.release.is_suite(suite))
    return fail(ErrorKind::kCorrupt,
                fmt::format("{}: the Release of suite \"{}\" (codename \"{}\"), not of \"{}\"", url,
                            out.release.suite, out.release.codename, suite));
  if (!out.release_from_cache) {
    TRY(sys::mkdir_p(cache.dir + "/release"));
    TRY(sys::write_file_atomic(saved, document));
  }
  return out;
}

// Step 2: the best index file the Release lists for a component, fetched by hash.
Result<const ReleaseFile*> choose_index(const Release& release, const std::string& dists_url,
                                        const std::string& component, const std::string& arch) {
  std::string base = component + "/binary-" + arch + "/Packages";
  for (std::string_view ext : {".xz", ".gz", ""}) {
    if (const ReleaseFile* f = release.find(base + std::string(ext))) return f;
  }
  return fail(ErrorKind::kNotFound, fmt::format("{}/InRelease lists no {}(.xz|.gz) for {} {}",
                                                dists_url, base, component, arch));
}

Result<std::string> fetch_index(util::HttpClient& http, const DownloadCache& cache,
                                const Release& release, const std::string& dists_url,
                                const ReleaseFile& file) {
  if (release.acquire_by_hash) {
    std::string dir = file.path.substr(0, file.path.rfind('/') + 1);
    std::string url = dists_url + "/" + dir + "by-hash/SHA256/" + file.sha256;
    auto path = fetch_verified(http, cache, url, file.sha256, file.size);
    // A mirror may lag behind the by-hash layout; the plain path is checked just the same.
    if (path || path.error().kind() != ErrorKind::kNotFound) return path;
  }
  return fetch_verified(http, cache, dists_url + "/" + file.path, file.sha256, file.size);
}

Result<std::string> decompress_file(const std::string& path, const std::string& source) {
  sys::UniqueFd fd = TRY(sys::open_file(path, O_RDONLY));
  sys::FdReader raw(fd.get(), path);
  auto in = TRY_CTX(
      archive::AutoDecompressReader::open(raw, {}, archive::AcceptedCompressions::kAll), source);
  return TRY_CTX(util::read_all(*in, size_t{4} << 30), source);
}

// Publishes data already checked against its hash in the cache, as fetch_verified would.
util::Status store_verified(const DownloadCache& cache, const std::string& sha256,
                            std::string_view data) {
  std::string final_path = cache.dir + "/sha256/" + sha256;
  std::string partial = cache.dir + "/partial/" + sha256;
  TRY(sys::mkdir_p(cache.dir + "/partial"));
  sys::UniqueFd fd = TRY(lock_partial(partial));
  if (TRY(cached(final_path, sha256, data.size(), false))) {
    ::unlink(partial.c_str());
    return {};
  }
  if (::ftruncate(fd.get(), 0) != 0) return sys_fail("truncate " + partial);
  sys::FdWriter out(fd.get(), partial);
  TRY(out.write(data));
  TRY(sys::fsync_fd(fd.get(), partial));
  TRY(sys::rename_file(partial, final_path));
  return sys::fsync_dir(cache.dir + "/sha256");
}

// Steps 2 and 3 for one component: the index text. The decompressed index is kept in the cache
// under the hash the Release gives for the uncompressed file (Debian lists it though mirrors do
// not serve it), so a rerun reads it without decompressing xz again.
Result<std::string> index_text(util::HttpClient& http, const DownloadCache& cache,
                               const Release& release, const std::string& dists_url,
                               const std::string& suite, const std::string& component,
                               const std::string& arch) {
  const ReleaseFile* plain = release.find(component + "/binary-" + arch + "/Packages");
  if (plain) {
    std::string path = cache.dir + "/sha256/" + plain->sha256;
    if (TRY(cached(path, plain->sha256, plain->size, cache.reverify)))
      return sys::read_file(path, size_t{4} << 30);
  }
  const ReleaseFile* file = TRY(choose_index(release, dists_url, component, arch));
  std::string source = dists_url + "/" + file->path;
  std::string path = TRY_CTX(fetch_index(http, cache, release, dists_url, *file),
                             "dists/" + suite + "/" + file->path);
  std::string text = TRY(decompress_file(path, source));
  if (plain && plain != file) {
    std::string actual = util::Sha256::hex_of(text);
    if (text.size() != plain->size || actual != plain->sha256)
      return fail(
          ErrorKind::kCorrupt,
          fmt::format("{}: decompresses to {} bytes with SHA-256 {}, but the Release "
                      "lists {} with {} bytes and SHA-256 {}",
                      source, text.size(), actual, plain->path, plain->size, plain->sha256));
    TRY(store_verified(cache, plain->sha256, text));
  }
  return text;
}

util::Status parse_index(std::string_view text, const std::string& source, const std::string& suite,
                         const std::string& mirror, std::vector<Package>& out) {
  out.reserve(out.size() + text.size() / 700);
  return for_each_paragraph(text, source, [&](Paragraph&& p) -> util::Status {
    Package pkg = TRY(package_from_paragraph(std::move(p), source, true));
    pkg.suite = suite;
    pkg.mirror = mirror;
    out.push_back(std::move(pkg));
    return {};
  });
}

}  // namespace

Result<PackageIndex> load_packages(util::HttpClient& http, const DownloadCache& cache,
                                   const std::string& mirror_url, const std::string& suite,
                                   const std::vector<std::string>& components,
                                   const std::string& arch,
                                   const std::vector<std::string>& keyrings,
                                   const IndexOptions& options) {
  std::string mirror = mirror_url;
  while (mirror.ends_with('/')) mirror.pop_back();
  std::string dists_url = mirror + "/dists/" + suite;
  VerifyOptions verify{
      .keyrings = keyrings, .fingerprints = options.fingerprints, .gpgv = options.gpgv};
  PackageIndex index = TRY(fetch_release(http, cache, dists_url, suite, verify, options));
  if (options.release_only) return index;
  for (const std::string& component : components) {
    std::string text =
        TRY(index_text(http, cache, index.release, dists_url, suite, component, arch));
    std::string source = dists_url + "/" + component + "/binary-" + arch + "/Packages";
    TRY(parse_index(text, source, suite, mirror, index.packages));
  }
  return index;
}

}  // namespace bonsai::debian
