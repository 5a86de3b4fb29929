// The tar reader: one 512-byte header at a time, folding PAX ('x', 'g') and GNU ('L', 'K') meta
// headers into the entry that follows them.
//
// Quirks of real archives it accepts: a "./" root member, old-GNU ("ustar  \0") and v7 (no
// magic) headers, v7 directories written as regular files named "dir/", signed header
// checksums, base-256 numbers, the end of the stream instead of the end-of-archive blocks, and
// anything after the first zero block (which is never read). Header-only types (links,
// devices, directories, fifos) carry no body whatever their size field says, as in Go's
// archive/tar, which wrote most of the layers in the wild.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "archive/tar.h"
#include "archive/tar_format.h"

namespace bonsai::archive {

namespace tf = tar_format;
using util::ErrorKind;
using util::fail;

std::string normalize_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out.push_back('/');
      out.append(part);
    }
    i = j + 1;
  }
  return out;
}

namespace {

// Parses "<len> <key>=<value>\n" records, where len counts the whole record, into out. A record
// with an empty value deletes the key (POSIX); it is kept with an empty value so that it also
// overrides a global record, and apply_pax() then skips it.
Status parse_pax(std::string_view data, std::map<std::string, std::string>& out) {
  while (!data.empty()) {
    size_t sp = data.find(' ');
    if (sp == std::string_view::npos || sp == 0) return fail(ErrorKind::kCorrupt, "bad PAX record");
    size_t len = 0;
    auto [p, ec] = std::from_chars(data.data(), data.data() + sp, len);
    if (ec != std::errc() || p != data.data() + sp || len <= sp + 1 || len > data.size() ||
        data[len - 1] != '\n') {
      return fail(ErrorKind::kCorrupt, "bad PAX record length");
    }
    std::string_view rec = data.substr(sp + 1, len - sp - 2);
    size_t eq = rec.find('=');
    if (eq == std::string_view::npos || eq == 0) return fail(ErrorKind::kCorrupt, "bad PAX record");
    std::string key(rec.substr(0, eq));
    std::string value(rec.substr(eq + 1));
    out.insert_or_assign(std::move(key), std::move(value));
    data.remove_prefix(len);
  }
  return {};
}

Result<uint64_t> parse_decimal(std::string_view key, std::string_view v) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size())
    return fail(ErrorKind::kCorrupt, "bad PAX " + std::string(key) + " \"" + std::string(v) + "\"");
  return n;
}

// PAX mtime: "[-]seconds[.fraction]".
Status parse_pax_time(std::string_view v, int64_t& sec, uint32_t& nsec) {
  const bool negative = !v.empty() && v[0] == '-';
  if (negative) v.remove_prefix(1);
  size_t dot = v.find('.');
  std::string_view whole = v.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : v.substr(dot + 1);
  int64_t s = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), s);
  if (whole.empty() || ec != std::errc() || p != whole.data() + whole.size())
    return fail(ErrorKind::kCorrupt, "bad PAX mtime");
  uint32_t ns = 0;
  for (size_t i = 0; i < 9; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return fail(ErrorKind::kCorrupt, "bad PAX mtime");
    ns = ns * 10 + static_cast<uint32_t>(c - '0');
  }
  if (negative && ns > 0) {
    s = -s - 1;
    ns = 1000000000 - ns;
  } else if (negative) {
    s = -s;
  }
  sec = s;
  nsec = ns;
  return {};
}

bool all_zero(const char* block) {
  return std::all_of(block, block + tf::kBlockSize, [](char c) { return c == 0; });
}

}  // namespace

struct TarReader::Impl {
  // Reads the current entry's body and then its padding.
  class BodyReader final : public util::Reader {
   public:
    explicit BodyReader(Impl& impl) : impl_(impl) {}
    Result<size_t> read(std::span<char> buf) override {
      if (impl_.body_left == 0) return size_t{0};
      if (buf.size() > impl_.body_left) buf = buf.first(static_cast<size_t>(impl_.body_left));
      size_t n = TRY(impl_.in.read(buf));
      if (n == 0) return std::unexpected(impl_.error(ErrorKind::kCorrupt, "truncated body"));
      impl_.body_left -= n;
      return n;
    }

   private:
    Impl& impl_;
  };

  Impl(util::Reader& r, TarLimits l) : in(r), limits(l), body_reader(*this) {}

  util::Reader& in;
  TarLimits limits;
  BodyReader body_reader;
  uint64_t body_left = 0;   // unread body bytes of the current entry
  uint64_t pad_left = 0;    // padding after the current body
  uint64_t next_index = 0;  // index the next entry will get
  uint64_t index = 0;       // of the entry being read, for errors
  std::string path;         // of the entry being read, for errors
  bool done = false;
  std::map<std::string, std::string> global;  // PAX 'g' records

  util::Error error(ErrorKind kind, std::string_view what) const {
    std::string where = "tar entry " + std::to_string(index);
    if (!path.empty()) where += " (" + path + ")";
    return util::Error(kind, where + ": " + std::string(what));
  }

  Result<std::optional<TarEntry>> next();
  Status skip_rest();
  // Reads a whole header block; false at a clean end of stream.
  Result<bool> read_block(char* block);
  Result<std::string> read_meta_body(uint64_t size, size_t limit, std::string_view what);
  Status parse_header(const char* block, TarEntry& e, char& type);
  Status apply_pax(const std::map<std::string, std::string>& pax, TarEntry& e);
  Status finish_entry(TarEntry& e, char type);
};

Status TarReader::Impl::skip_rest() {
  uint64_t n = body_left + pad_left;
  if (n == 0) return {};
  auto r = util::skip(in, n);
  if (!r) return std::unexpected(error(ErrorKind::kCorrupt, "truncated body"));
  body_left = pad_left = 0;
  return {};
}

Result<bool> TarReader::Impl::read_block(char* block) {
  size_t n = TRY(util::read_full(in, std::span<char>(block, tf::kBlockSize)));
  if (n == 0) return false;
  if (n < tf::kBlockSize) return std::unexpected(error(ErrorKind::kCorrupt, "truncated header"));
  return true;
}

Result<std::string> TarReader::Impl::read_meta_body(uint64_t size, size_t limit,
                                                    std::string_view what) {
  if (size > limit) {
    return std::unexpected(error(ErrorKind::kLimit, std::string(what) + " of " +
                                                        std::to_string(size) + " bytes exceeds " +
                                                        std::to_string(limit) + " bytes"));
  }
  std::string data(static_cast<size_t>(size), '\0');
  size_t n = TRY(util::read_full(in, data));
  if (n != size)
    return std::unexpected(error(ErrorKind::kCorrupt, "truncated " + std::string(what)));
  auto pad = util::skip(in, tf::padding(size));
  if (!pad) return std::unexpected(error(ErrorKind::kCorrupt, "truncated " + std::string(what)));
  return data;
}

Status TarReader::Impl::parse_header(const char* block, TarEntry& e, char& type) {
  const auto sum = tf::parse_number(tf::field(block, tf::kChecksum));
  const auto c = tf::checksums(block);
  if (!sum || (*sum != c.unsigned_sum && *sum != c.signed_sum))
    return std::unexpected(error(ErrorKind::kCorrupt, "bad header checksum (not a tar archive?)"));

  const std::string_view magic = tf::field(block, tf::kMagic);
  const bool posix = magic == std::string_view("ustar\0", 6);
  const bool gnu = magic == "ustar ";  // old GNU: no prefix field, "ustar  \0"
  e.path = tf::field_str(block, tf::kName);
  const std::string_view prefix = tf::field_str(block, tf::kPrefix);
  if (posix && !prefix.empty()) e.path = std::string(prefix) + "/" + e.path;
  path = normalize_path(e.path);

  struct Num {
    tf::Field field;
    const char* name;
    int64_t min, max;
    int64_t value = 0;
  };
  Num nums[] = {
      {tf::kMode, "mode", 0, INT64_MAX},
      {tf::kUid, "uid", 0, UINT32_MAX},
      {tf::kGid, "gid", 0, UINT32_MAX},
      {tf::kSize, "size", 0, INT64_MAX},
      {tf::kMtime, "mtime", INT64_MIN, INT64_MAX},
  };
  for (Num& n : nums) {
    auto v = tf::parse_number(tf::field(block, n.field));
    if (!v || *v < n.min || *v > n.max)
      return std::unexpected(error(ErrorKind::kCorrupt, std::string("bad ") + n.name + " field"));
    n.value = *v;
  }
  e.mode = static_cast<uint32_t>(nums[0].value & 07777);
  e.uid = static_cast<uint32_t>(nums[1].value);
  e.gid = static_cast<uint32_t>(nums[2].value);
  e.size = static_cast<uint64_t>(nums[3].value);
  e.mtime_sec = nums[4].value;
  type = block[tf::kTypeflag.offset];
  e.link_target = tf::field_str(block, tf::kLinkname);
  if (!posix && !gnu) return {};  // v7: nothing past the link name
  e.uname = tf::field_str(block, tf::kUname);
  e.gname = tf::field_str(block, tf::kGname);
  if (type == '3' || type == '4') {
    auto major = tf::parse_number(tf::field(block, tf::kDevMajor));
    auto minor = tf::parse_number(tf::field(block, tf::kDevMinor));
    if (!major || !minor || *major < 0 || *minor < 0 || *major > UINT32_MAX || *minor > UINT32_MAX)
      return std::unexpected(error(ErrorKind::kCorrupt, "bad device number field"));
    e.dev_major = static_cast<uint32_t>(*major);
    e.dev_minor = static_cast<uint32_t>(*minor);
  }
  return {};
}

Status TarReader::Impl::apply_pax(const std::map<std::string, std::string>& pax, TarEntry& e) {
  static constexpr std::string_view kXattr = "SCHILY.xattr.";
  for (const auto& [key, value] : pax) {
    if (key.starts_with(kXattr)) {
      e.xattrs[key.substr(kXattr.size())] = value;
      continue;
    }
    if (key.starts_with("GNU.sparse."))
      return std::unexpected(error(ErrorKind::kUnsupported, "sparse files are not supported"));
    if (value.empty()) continue;  // "unset": keep the header's value
    if (key == "path") {
      e.path = value;
      path = normalize_path(value);
    } else if (key == "linkpath") {
      e.link_target = value;
    } else if (key == "size") {
      e.size = TRY(parse_decimal(key, value));
    } else if (key == "uid" || key == "gid") {
      uint64_t id = TRY(parse_decimal(key, value));
      if (id > UINT32_MAX) return fail(ErrorKind::kCorrupt, "PAX " + key + " out of range");
      (key == "uid" ? e.uid : e.gid) = static_cast<uint32_t>(id);
    } else if (key == "uname") {
      e.uname = value;
    } else if (key == "gname") {
      e.gname = value;
    } else if (key == "mtime") {
      TRY(parse_pax_time(value, e.mtime_sec, e.mtime_nsec));
    } else if (key == "SCHILY.devmajor" || key == "SCHILY.devminor") {
      uint64_t n = TRY(parse_decimal(key, value));
      if (n > UINT32_MAX) return fail(ErrorKind::kCorrupt, "PAX " + key + " out of range");
      (key == "SCHILY.devmajor" ? e.dev_major : e.dev_minor) = static_cast<uint32_t>(n);
    }
    // atime, ctime, comment, charset, hdrcharset, LIBARCHIVE.* ...: not needed for layers.
  }
  return {};
}

Status TarReader::Impl::finish_entry(TarEntry& e, char type) {
  uint64_t skip_body = 0;  // a body that is not the entry's content (GNU dump dirs)
  switch (type) {
    case '0':
    case '7':  // contiguous file
      e.type = EntryType::kFile;
      break;
    case '\0':  // v7: a trailing slash marks a directory
      e.type = e.path.ends_with('/') ? EntryType::kDirectory : EntryType::kFile;
      break;
    case '1':
      e.type = EntryType::kHardLink;
      break;
    case '2':
      e.type = EntryType::kSymlink;
      break;
    case '3':
      e.type = EntryType::kCharDevice;
      break;
    case '4':
      e.type = EntryType::kBlockDevice;
      break;
    case '5':
      e.type = EntryType::kDirectory;
      break;
    case '6':
      e.type = EntryType::kFifo;
      break;
    case 'D':  // GNU dump dir: a directory whose body lists its contents
      e.type = EntryType::kDirectory;
      skip_body = e.size;
      break;
    case 'S':
      return std::unexpected(error(ErrorKind::kUnsupported, "sparse files are not supported"));
    case 'M':
      return std::unexpected(
          error(ErrorKind::kUnsupported, "multi-volume archives are not supported"));
    default: {
      std::string what = "unsupported entry type ";
      if (type >= 0x20 && type < 0x7f)
        what += "'" + std::string(1, type) + "'";
      else
        what += std::to_string(static_cast<uint8_t>(type));
      return std::unexpected(error(ErrorKind::kUnsupported, what));
    }
  }
  if (e.type != EntryType::kFile) e.size = 0;
  body_left = e.size;
  pad_left = tf::padding(e.size) + skip_body + tf::padding(skip_body);

  if (e.path.find('\0') != std::string::npos || e.link_target.find('\0') != std::string::npos)
    return std::unexpected(error(ErrorKind::kCorrupt, "NUL byte in path"));
  e.path = normalize_path(e.path);
  if (e.path.size() > limits.max_path || e.link_target.size() > limits.max_path) {
    return std::unexpected(
        error(ErrorKind::kLimit, "path longer than " + std::to_string(limits.max_path) + " bytes"));
  }
  if (e.path.empty() && e.type != EntryType::kDirectory)
    return std::unexpected(error(ErrorKind::kCorrupt, "empty path"));
  if (e.type == EntryType::kHardLink) {
    e.link_target = normalize_path(e.link_target);
    if (e.link_target.empty())
      return std::unexpected(error(ErrorKind::kCorrupt, "hard link without a target"));
  }
  return {};
}

Result<std::optional<TarEntry>> TarReader::Impl::next() {
  if (done) return std::nullopt;
  TRY(skip_rest());
  path.clear();
  index = next_index;
  std::optional<std::string> long_name, long_link;
  std::map<std::string, std::string> pax;
  bool pending_meta = false;
  std::array<char, tf::kBlockSize> block;
  for (;;) {
    const bool got = TRY(read_block(block.data()));
    if (!got || all_zero(block.data())) {
      done = true;
      if (pending_meta)
        return std::unexpected(error(ErrorKind::kCorrupt, "archive ends after a meta header"));
      return std::nullopt;
    }
    TarEntry e;
    char type = 0;
    TRY(parse_header(block.data(), e, type));
    switch (type) {
      case 'x':
      case 'g': {
        std::string data = TRY(read_meta_body(e.size, limits.max_pax_header, "PAX header"));
        auto& into = type == 'x' ? pax : global;
        auto parsed = parse_pax(data, into);
        if (!parsed) return std::unexpected(error(ErrorKind::kCorrupt, parsed.error().message()));
        if (type == 'g') std::erase_if(global, [](const auto& kv) { return kv.second.empty(); });
        pending_meta = type == 'x' || pending_meta;
        continue;
      }
      case 'L':
      case 'K': {
        std::string data = TRY(read_meta_body(e.size, limits.max_long_name, "GNU long name"));
        data.resize(std::min(data.size(), data.find('\0')));
        (type == 'L' ? long_name : long_link) = std::move(data);
        if (type == 'L') path = normalize_path(*long_name);
        pending_meta = true;
        continue;
      }
      case 'V':  // GNU volume label: not a member
        TRY(read_meta_body(e.size, limits.max_long_name, "volume label"));
        continue;
      default:
        break;
    }
    if (long_name) e.path = std::move(*long_name);
    if (long_link) e.link_target = std::move(*long_link);
    std::map<std::string, std::string> merged = global;
    for (auto& [k, v] : pax) merged.insert_or_assign(k, v);
    auto applied = apply_pax(merged, e);
    if (!applied) {
      util::Error err = std::move(applied).error();
      if (err.message().starts_with("tar entry")) return std::unexpected(std::move(err));
      return std::unexpected(error(err.kind(), err.message()));
    }
    TRY(finish_entry(e, type));
    ++next_index;
    return e;
  }
}

TarReader::TarReader(util::Reader& in, TarLimits limits)
    : impl_(std::make_unique<Impl>(in, limits)) {}
TarReader::~TarReader() = default;

Result<std::optional<TarEntry>> TarReader::next() { return impl_->next(); }
util::Reader& TarReader::body() { return impl_->body_reader; }
uint64_t TarReader::index() const { return impl_->index; }

}  // namespace bonsai::archive
