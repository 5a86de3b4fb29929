// The one tar reader and writer for the whole project (ustar + PAX + GNU long names).
//
// The formats read and written are described in docs/layers.md.
//
// Paths in a TarEntry are normalised: relative, '/'-separated, no leading "./" or "/", no
// trailing '/', no empty or "." components; ".." components are kept (the reader does not
// resolve them) so that callers applying a layer can reject or confine them. The root entry
// ("./" or "/") has the path "". Hard-link targets are normalised the same way.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"
#include "util/io.h"

namespace bonsai::archive {

using util::Result;
using util::Status;

enum class EntryType { kFile, kHardLink, kSymlink, kCharDevice, kBlockDevice, kDirectory, kFifo };

struct TarEntry {
  std::string path;
  EntryType type = EntryType::kFile;
  uint32_t mode = 0644;  // permission bits and setuid/setgid/sticky (07777), no file type bits
  uint32_t uid = 0, gid = 0;
  std::string uname, gname;  // kept for fidelity; bonsai writes numeric owners only
  uint64_t size = 0;         // body size; 0 for everything but kFile
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  std::string link_target;  // symlink target as written, or normalised hard-link target path
  uint32_t dev_major = 0, dev_minor = 0;
  std::map<std::string, std::string> xattrs;  // from PAX SCHILY.xattr.<name>
};

// Safety limits for untrusted archives. Exceeding one is an ErrorKind::kLimit error.
struct TarLimits {
  size_t max_pax_header = 1 << 20;  // bytes of one PAX extended header
  size_t max_long_name = 64 << 10;  // GNU long name / long link body
  size_t max_path = 4096;           // a normalised path
};

// Normalises a tar member name as described at the top of this file: "./a//b/./c/" => "a/b/c",
// "./" => "", "/etc/x" => "etc/x", "a/../b" stays "a/../b".
std::string normalize_path(std::string_view path);

// Reads ustar, PAX (extended and global headers), GNU (long names 'L' / long links 'K',
// base-256 numbers, directory dumps 'D') and v7 archives. It tolerates a missing end-of-archive
// block and stops at the first zero block, never reading what follows it. GNU volume labels are
// skipped. Sparse files, multi-volume members and unknown entry types are rejected with
// kUnsupported; a malformed or truncated header or body with kCorrupt; a header over a TarLimits
// bound with kLimit. Not thread-safe: one thread per reader.
class TarReader {
 public:
  TarReader(util::Reader& in, TarLimits limits = {});
  ~TarReader();
  // The next entry, or nullopt at the end of the archive (a zero block or end of stream).
  // Any unread body of the previous entry is skipped. Errors name the entry index and path.
  Result<std::optional<TarEntry>> next();
  // Reads the current entry's body (entry.size bytes in total, then 0). A stream that ends
  // inside the body is a kCorrupt error.
  util::Reader& body();
  // The 0-based index of the entry last returned by next() (PAX/GNU meta headers not counted).
  uint64_t index() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct TarWriterOptions {
  // SOURCE_DATE_EPOCH: mtimes later than this are written as this (with no fraction).
  std::optional<int64_t> clamp_mtime;
  // Sub-second mtimes are dropped unless this is set (they then cost a PAX record per entry).
  bool keep_subsecond_mtime = false;
};

// Writes ustar headers, adding a PAX extended header ("././@PaxHeader") only when a value does
// not fit: a path over 100 bytes that cannot be split into ustar prefix/name, a link target over
// 100 bytes, a number too large for its octal field, a negative or kept fractional mtime, and
// xattrs. Output is deterministic: uname/gname are always empty (numeric owners only), fields
// have a fixed format and PAX records are sorted by key.
class TarWriter {
 public:
  explicit TarWriter(util::Writer& out, TarWriterOptions options = {});
  ~TarWriter();
  // Writes a header for entry. The path (and a hard-link target) is normalised first; only a
  // directory may have the empty (root) path, written as "./". size is taken as 0 for every
  // type but kFile. For kFile, exactly entry.size body bytes must follow via write_body() before
  // the next add() or finish(); otherwise kInvalidArgument.
  Status add(const TarEntry& entry);
  Status write_body(std::string_view data);
  // Writes the two terminating zero blocks. Does not close the underlying writer.
  Status finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bonsai::archive
