// The tar writer: deterministic ustar with PAX extended headers only where ustar cannot hold a
// value. Field formats are fixed: numbers are zero-padded octal filling the field but for a
// trailing NUL ("0000644\0"), or GNU base-256 when too large (with a PAX record too, for
// readers without the GNU extension); the checksum is six octal digits, NUL, space; the magic is
// "ustar\0" version "00"; uname and gname are empty; PAX records are sorted by key.
#include <array>
#include <cstring>

#include "archive/tar.h"
#include "archive/tar_format.h"

namespace bonsai::archive {

namespace tf = tar_format;
using util::ErrorKind;
using util::fail;

namespace {

using Block = std::array<char, tf::kBlockSize>;

// Largest value an octal field of this width holds (width - 1 digits).
int64_t octal_max(tf::Field f) { return (int64_t{1} << (3 * (f.size - 1))) - 1; }

void put_octal(Block& b, tf::Field f, uint64_t v) {
  char* p = b.data() + f.offset;
  p[f.size - 1] = '\0';
  for (size_t i = f.size - 1; i-- > 0;) {
    p[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
}

// Octal when it fits, else GNU base-256 (two's complement, first byte 0x80 or 0xff).
void put_number(Block& b, tf::Field f, int64_t v) {
  if (v >= 0 && v <= octal_max(f)) return put_octal(b, f, static_cast<uint64_t>(v));
  char* p = b.data() + f.offset;
  auto u = static_cast<uint64_t>(v);
  for (size_t i = f.size; i-- > 1;) {
    p[i] = static_cast<char>(u & 0xff);
    u = v < 0 ? (u >> 8) | (uint64_t{0xff} << 56) : u >> 8;
  }
  p[0] = static_cast<char>(v < 0 ? 0xff : 0x80);
}

void put_str(Block& b, tf::Field f, std::string_view s) {
  std::memcpy(b.data() + f.offset, s.data(), std::min(s.size(), f.size));
}

void put_checksum(Block& b) {
  auto sum = tf::checksums(b.data()).unsigned_sum;
  char* p = b.data() + tf::kChecksum.offset;
  for (int i = 5; i >= 0; --i) {
    p[i] = static_cast<char>('0' + (sum & 7));
    sum >>= 3;
  }
  p[6] = '\0';
  p[7] = ' ';
}

void append_record(std::string& out, std::string_view key, std::string_view value) {
  const size_t base = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = base + std::to_string(base).size();
  if (std::to_string(len).size() != std::to_string(base).size()) ++len;
  out += std::to_string(len);
  out += ' ';
  out += key;
  out += '=';
  out += value;
  out += '\n';
}

std::string format_time(int64_t sec, uint32_t nsec) {
  std::string sign;
  if (sec < 0 && nsec > 0) {
    sign = "-";
    sec = -(sec + 1);
    nsec = 1000000000 - nsec;
  } else if (sec < 0) {
    sign = "-";
    sec = -sec;
  }
  std::string s = sign + std::to_string(sec);
  if (nsec == 0) return s;
  std::string frac = std::to_string(nsec);
  frac.insert(0, 9 - frac.size(), '0');
  while (frac.back() == '0') frac.pop_back();
  return s + "." + frac;
}

// Splits name into ustar prefix (<= 155) and name (1..100) at a '/', if possible.
bool split_ustar(std::string_view name, std::string_view& prefix, std::string_view& rest) {
  const size_t from = name.size() > tf::kName.size + 1 ? name.size() - tf::kName.size - 1 : 0;
  for (size_t pos = name.find('/', from); pos != std::string_view::npos;
       pos = name.find('/', pos + 1)) {
    if (pos > tf::kPrefix.size) return false;
    if (pos == 0 || pos + 1 == name.size()) continue;
    prefix = name.substr(0, pos);
    rest = name.substr(pos + 1);
    return true;
  }
  return false;
}

char typeflag(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return '0';
    case EntryType::kHardLink:
      return '1';
    case EntryType::kSymlink:
      return '2';
    case EntryType::kCharDevice:
      return '3';
    case EntryType::kBlockDevice:
      return '4';
    case EntryType::kDirectory:
      return '5';
    case EntryType::kFifo:
      return '6';
  }
  return '0';
}

Block base_header() {
  Block b{};
  put_str(b, tf::kMagic, std::string_view("ustar\0", 6));
  put_str(b, tf::kVersion, "00");
  return b;
}

}  // namespace

struct TarWriter::Impl {
  util::Writer& out;
  TarWriterOptions options;
  uint64_t body_left = 0;
  uint64_t padding = 0;
  std::string path;  // of the current entry, for errors
  uint64_t count = 0;

  util::Error error(std::string_view what) const {
    return util::Error(ErrorKind::kInvalidArgument, "tar writer: entry " + std::to_string(count) +
                                                        " (" + path + "): " + std::string(what));
  }
  Status check_body_done() const {
    if (body_left == 0) return {};
    return std::unexpected(error(std::to_string(body_left) + " body bytes missing"));
  }
  Status add(const TarEntry& entry);
};

Status TarWriter::Impl::add(const TarEntry& entry) {
  TRY(check_body_done());
  path = normalize_path(entry.path);
  ++count;
  if (path.empty() && entry.type != EntryType::kDirectory)
    return std::unexpected(error("only a directory may be the root entry"));
  std::string name = path;
  if (entry.type == EntryType::kDirectory) name = path.empty() ? "./" : path + "/";
  std::string link =
      entry.type == EntryType::kHardLink ? normalize_path(entry.link_target) : entry.link_target;
  if (entry.type == EntryType::kHardLink && link.empty())
    return std::unexpected(error("hard link without a target"));
  const uint64_t size = entry.type == EntryType::kFile ? entry.size : 0;
  int64_t mtime = entry.mtime_sec;
  uint32_t nsec = options.keep_subsecond_mtime ? entry.mtime_nsec : 0;
  if (options.clamp_mtime &&
      (mtime > *options.clamp_mtime || (mtime == *options.clamp_mtime && nsec > 0))) {
    mtime = *options.clamp_mtime;
    nsec = 0;
  }

  // Step 1: the ustar header, noting every value it cannot hold in PAX records (sorted keys).
  Block h = base_header();
  std::map<std::string, std::string> pax;
  std::string_view prefix, rest;
  if (name.size() <= tf::kName.size) {
    put_str(h, tf::kName, name);
  } else if (split_ustar(name, prefix, rest)) {
    put_str(h, tf::kPrefix, prefix);
    put_str(h, tf::kName, rest);
  } else {
    put_str(h, tf::kName, name);  // truncated; readers with PAX support use the record
    pax["path"] = name;
  }
  put_str(h, tf::kLinkname, link);
  if (link.size() > tf::kLinkname.size) pax["linkpath"] = link;
  put_octal(h, tf::kMode, entry.mode & 07777);
  put_number(h, tf::kUid, entry.uid);
  put_number(h, tf::kGid, entry.gid);
  if (entry.uid > octal_max(tf::kUid)) pax["uid"] = std::to_string(entry.uid);
  if (entry.gid > octal_max(tf::kGid)) pax["gid"] = std::to_string(entry.gid);
  if (size > static_cast<uint64_t>(INT64_MAX)) return std::unexpected(error("size out of range"));
  put_number(h, tf::kSize, static_cast<int64_t>(size));
  if (size > static_cast<uint64_t>(octal_max(tf::kSize))) pax["size"] = std::to_string(size);
  put_number(h, tf::kMtime, mtime);
  if (mtime < 0 || mtime > octal_max(tf::kMtime) || nsec > 0)
    pax["mtime"] = format_time(mtime, nsec);
  h[tf::kTypeflag.offset] = typeflag(entry.type);
  if (entry.type == EntryType::kCharDevice || entry.type == EntryType::kBlockDevice) {
    put_number(h, tf::kDevMajor, entry.dev_major);
    put_number(h, tf::kDevMinor, entry.dev_minor);
  } else {
    put_octal(h, tf::kDevMajor, 0);
    put_octal(h, tf::kDevMinor, 0);
  }
  for (const auto& [key, value] : entry.xattrs) {
    if (key.empty() || key.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
      return std::unexpected(error("bad xattr name \"" + key + "\""));
    pax["SCHILY.xattr." + key] = value;
  }
  put_checksum(h);

  // Step 2: the PAX extended header and its records, when needed.
  if (!pax.empty()) {
    std::string records;
    for (const auto& [key, value] : pax) append_record(records, key, value);
    Block x = base_header();
    put_str(x, tf::kName, "././@PaxHeader");
    put_octal(x, tf::kMode, 0644);
    put_octal(x, tf::kUid, 0);
    put_octal(x, tf::kGid, 0);
    put_number(x, tf::kSize, static_cast<int64_t>(records.size()));
    put_octal(x, tf::kMtime, 0);
    x[tf::kTypeflag.offset] = 'x';
    put_octal(x, tf::kDevMajor, 0);
    put_octal(x, tf::kDevMinor, 0);
    put_checksum(x);
    records.append(tf::padding(records.size()), '\0');
    TRY(out.write(std::string_view(x.data(), x.size())));
    TRY(out.write(records));
  }

  // Step 3: the header itself; the body follows through write_body().
  TRY(out.write(std::string_view(h.data(), h.size())));
  body_left = size;
  padding = tf::padding(size);
  return {};
}

TarWriter::TarWriter(util::Writer& out, TarWriterOptions options)
    : impl_(std::make_unique<Impl>(Impl{out, options})) {}
TarWriter::~TarWriter() = default;

Status TarWriter::add(const TarEntry& entry) { return impl_->add(entry); }

Status TarWriter::write_body(std::string_view data) {
  Impl& m = *impl_;
  if (data.size() > m.body_left)
    return std::unexpected(m.error("body longer than the entry's size"));
  TRY(m.out.write(data));
  m.body_left -= data.size();
  if (m.body_left == 0 && m.padding > 0) {
    static constexpr char kZeros[tf::kBlockSize] = {};
    TRY(m.out.write(std::string_view(kZeros, static_cast<size_t>(m.padding))));
    m.padding = 0;
  }
  return {};
}

Status TarWriter::finish() {
  TRY(impl_->check_body_done());
  static constexpr char kZeros[2 * tf::kBlockSize] = {};
  return impl_->out.write(std::string_view(kZeros, sizeof kZeros));
}

}  // namespace bonsai::archive
