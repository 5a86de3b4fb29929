// The one tar reader and writer for the whole project (ustar + PAX + GNU long names).
//
// STATUS: interface agreed between modules; the archive module owns and may refine it.
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
  size_t max_pax_header = 1 << 20;     // bytes of one PAX extended header
  size_t max_long_name = 64 << 10;     // GNU long name / long link body
  size_t max_path = 4096;              // a normalised path
};

class TarReader {
 public:
  TarReader(util::Reader& in, TarLimits limits = {});
  ~TarReader();
  // The next entry, or nullopt at the end of the archive (two zero blocks or end of stream).
  // Any unread body of the previous entry is skipped. Errors name the entry index and path.
  Result<std::optional<TarEntry>> next();
  // Reads the current entry's body (entry.size bytes in total, then 0).
  util::Reader& body();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class TarWriter {
 public:
  explicit TarWriter(util::Writer& out);
  ~TarWriter();
  // Writes a header (PAX records for long names, large or fractional values and xattrs).
  // For kFile, exactly entry.size body bytes must follow via write_body() before the next add().
  Status add(const TarEntry& entry);
  Status write_body(std::string_view data);
  // Writes the two terminating zero blocks. Does not close the underlying writer.
  Status finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bonsai::archive
