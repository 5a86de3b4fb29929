// A streaming reader for the common Unix ar format, as far as Debian packages (.deb) use it.
//
// An archive is the magic "!<arch>\n" followed by members, each a 60-byte header and its body,
// padded with one byte to an even offset. The header is fixed-width ASCII:
//
//   name[16] mtime[12] uid[6] gid[6] mode[8] size[10] "`\n"
//
// name is space-padded, optionally ending with '/' (GNU ar); mtime, uid, gid and size are
// decimal and mode octal, space-padded (an all-blank mtime, uid, gid or mode reads as 0, as
// some writers leave them empty). GNU symbol and long-name tables ("/", "//", "/123") and BSD
// long names ("#1/20") are not used by .deb and are refused with kUnsupported. See ar(5) and
// deb(5).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "util/error.h"
#include "util/io.h"

namespace bonsai::archive {

using util::Result;
using util::Status;

struct ArMember {
  std::string name;  // without the padding and the GNU trailing '/'
  uint64_t size = 0;
  uint32_t mode = 0;  // as written, file type bits included (0100644)
  int64_t mtime = 0;
  uint32_t uid = 0, gid = 0;
};

struct ArLimits {
  uint64_t max_members = 1 << 16;
};

// Reads members in order from `in` (which must outlive the reader). Not thread-safe.
class ArReader {
 public:
  explicit ArReader(util::Reader& in, ArLimits limits = {});
  ~ArReader();
  // The next member, or nullopt at the end of the archive (the stream ending exactly after a
  // member, its padding byte optional). The first call checks the magic. Any unread body of the
  // previous member is skipped. Errors: kCorrupt for a bad magic, a truncated or malformed
  // header or a truncated body; kUnsupported for GNU/BSD extended names; kLimit past
  // ArLimits::max_members. Errors name the member's 0-based index (and its name once known).
  Result<std::optional<ArMember>> next();
  // Reads the current member's body (member.size bytes, then 0). A stream ending inside the
  // body is a kCorrupt error naming the member.
  util::Reader& body();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bonsai::archive
