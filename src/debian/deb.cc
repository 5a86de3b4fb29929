// The .deb reader: ar members in order (archive::ArReader), each tar member decompressed by the
// compression its name gives (archive::AutoDecompressReader) and read with the one tar reader.
// After each tar's end-of-archive block the decompressed stream is read to its end, so that a
// truncated member or a failed checksum (gzip CRC, xz check, zstd checksum) is an error even
// though tar stops early.
#include "debian/deb.h"

#include <optional>

#include "archive/ar.h"

namespace bonsai::debian {

using archive::Compression;
using util::ErrorKind;
using util::fail;

namespace {

constexpr uint64_t kMaxVersionMember = 1024;

// The compression a member name's suffix gives ("data.tar.xz" -> kXz), given `base` and the
// suffixes allowed for it. kCorrupt for a name that is not `base` at all, kUnsupported for a
// compression suffix that is not allowed.
Result<Compression> member_compression(std::string_view name, std::string_view base,
                                       bool allow_bzip2) {
  std::string_view ext = name.substr(base.size());
  if (ext.empty()) return Compression::kNone;
  if (ext == ".gz") return Compression::kGzip;
  if (ext == ".xz") return Compression::kXz;
  if (ext == ".zst") return Compression::kZstd;
  if (ext == ".bz2" && allow_bzip2) return Compression::kBzip2;
  if (ext.starts_with('.')) {
    return fail(ErrorKind::kUnsupported, std::string(name) + ": \"" + std::string(ext.substr(1)) +
                                             "\" compression is not supported");
  }
  return fail(ErrorKind::kCorrupt, "unexpected member \"" + std::string(name) + "\"");
}

// "xz-compressed", or "uncompressed".
std::string describe(Compression c) {
  if (c == Compression::kNone) return "uncompressed";
  return std::string(archive::compression_name(c)) + "-compressed";
}

// The next member that is not a '_' extension member; it must be `base` with an optional
// compression suffix.
Result<archive::ArMember> next_required(archive::ArReader& ar, std::string_view base,
                                        std::string_view after) {
  for (;;) {
    std::optional<archive::ArMember> m = TRY(ar.next());
    if (!m) {
      return fail(ErrorKind::kCorrupt,
                  "no " + std::string(base) + " member after " + std::string(after));
    }
    if (m->name.starts_with('_')) continue;
    if (!m->name.starts_with(base)) {
      return fail(ErrorKind::kCorrupt, "expected " + std::string(base) + " after " +
                                           std::string(after) + ", found member \"" + m->name +
                                           "\"");
    }
    return std::move(*m);
  }
}

// debian-binary: "2.<minor>\n"; dpkg ignores anything after the first line.
Status check_format_version(util::Reader& body, uint64_t size) {
  if (size > kMaxVersionMember) {
    return fail(ErrorKind::kCorrupt,
                "debian-binary: " + std::to_string(size) + " bytes, too long for a format version");
  }
  std::string text = TRY_CTX(util::read_all(body, kMaxVersionMember), "debian-binary");
  size_t nl = text.find('\n');
  std::string_view line = std::string_view(text).substr(0, nl);
  size_t dot = line.find('.');
  auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (nl == std::string::npos || dot == std::string_view::npos || !digits(line.substr(0, dot)) ||
      !digits(line.substr(dot + 1))) {
    return fail(ErrorKind::kCorrupt,
                "debian-binary: bad format version \"" + std::string(line.substr(0, 32)) + "\"");
  }
  if (line.substr(0, dot) != "2") {
    return fail(ErrorKind::kUnsupported, "debian-binary: format version " + std::string(line) +
                                             " is not supported (2.x is)");
  }
  return {};
}

// A decompressing reader over a tar member whose content must match `expected`.
Result<std::unique_ptr<archive::AutoDecompressReader>> open_member(
    util::Reader& body, Compression expected, archive::DecompressLimits limits) {
  auto r =
      TRY(archive::AutoDecompressReader::open(body, limits, archive::AcceptedCompressions::kAll));
  if (r->compression() != expected) {
    return fail(ErrorKind::kCorrupt, "the content is " + describe(r->compression()) +
                                         ", but the name says " + describe(expected));
  }
  return r;
}

Status drain(util::Reader& in) {
  char buf[64 << 10];
  while (TRY(in.read(buf)) > 0) {
  }
  return {};
}

std::string entry_name(const archive::TarReader& tar, const archive::TarEntry& e) {
  return "tar entry " + std::to_string(tar.index()) + " (" + e.path + ")";
}

void add_control_file(DebControl& out, const archive::TarEntry& e, std::string data) {
  if (e.path == "control") out.control = data;
  if (e.path == "md5sums") out.md5sums = data;
  if (e.path == "conffiles") out.conffiles = data;
  out.members[e.path] = {std::move(data), e.mode & 07777};
}

// control.tar holds regular files at its top level, each name once, "control" among them.
Result<DebControl> read_control(util::Reader& body, Compression c, uint64_t max) {
  util::BufferedReader buffered(body, 256 << 10);
  auto plain = TRY(open_member(buffered, c, {.max_output = max}));
  archive::TarReader tar(*plain);
  DebControl out;
  for (;;) {
    std::optional<archive::TarEntry> e = TRY(tar.next());
    if (!e) break;
    if (e->path.empty() && e->type == archive::EntryType::kDirectory) continue;  // "./"
    if (e->type == archive::EntryType::kSymlink)
      return fail(ErrorKind::kUnsupported, entry_name(tar, *e) + ": a symlink in control.tar");
    if (e->type != archive::EntryType::kFile || e->path.empty() ||
        e->path.find('/') != std::string::npos) {
      return fail(ErrorKind::kCorrupt,
                  entry_name(tar, *e) + ": not a regular file at the top of control.tar");
    }
    if (out.members.contains(e->path))
      return fail(ErrorKind::kCorrupt, entry_name(tar, *e) + ": a second file of that name");
    std::string data = TRY(util::read_all(tar.body(), max));
    add_control_file(out, *e, std::move(data));
  }
  TRY(drain(*plain));
  if (!out.members.contains("control")) return fail(ErrorKind::kCorrupt, "no control file");
  return out;
}

Status read_data(util::Reader& body, Compression c, archive::DecompressLimits limits,
                 DebVisitor& visitor) {
  util::BufferedReader buffered(body, 256 << 10);
  auto plain = TRY(open_member(buffered, c, limits));
  archive::TarReader tar(*plain);
  for (;;) {
    std::optional<archive::TarEntry> e = TRY(tar.next());
    if (!e) break;
    TRY(visitor.on_data_entry(*e, tar.body()));
  }
  return drain(*plain);
}

Status read_members(archive::ArReader& ar, DebVisitor& visitor, const DebLimits& limits) {
  // 1. debian-binary, first of all.
  std::optional<archive::ArMember> first = TRY(ar.next());
  if (!first) return fail(ErrorKind::kCorrupt, "not a Debian package: an empty ar archive");
  if (first->name != "debian-binary") {
    return fail(ErrorKind::kCorrupt, "not a Debian package: the first member is \"" + first->name +
                                         "\", not debian-binary");
  }
  TRY(check_format_version(ar.body(), first->size));

  // 2. control.tar, handed to the visitor whole.
  archive::ArMember control = TRY(next_required(ar, "control.tar", "debian-binary"));
  Compression c = TRY(member_compression(control.name, "control.tar", false));
  DebControl files = TRY_CTX(read_control(ar.body(), c, limits.max_control), control.name);
  TRY(visitor.on_control(std::move(files)));

  // 3. data.tar, streamed entry by entry.
  archive::ArMember data = TRY(next_required(ar, "data.tar", control.name));
  c = TRY(member_compression(data.name, "data.tar", true));
  TRY_CTX(read_data(ar.body(), c, limits.data, visitor), data.name);
  return {};
}

}  // namespace

Status read_deb(util::Reader& in, std::string_view name_for_errors, DebVisitor& visitor,
                DebLimits limits) {
  archive::ArReader ar(in);
  TRY_CTX(read_members(ar, visitor, limits), name_for_errors);
  return {};
}

}  // namespace bonsai::debian
