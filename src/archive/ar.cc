// The ar reader: the magic, then one 60-byte header at a time, the body streamed through
// body(), and the padding byte skipped before the next header.
#include "archive/ar.h"

#include <charconv>

namespace bonsai::archive {

using util::ErrorKind;
using util::fail;

namespace {

constexpr std::string_view kMagic = "!<arch>\n";
constexpr size_t kHeaderSize = 60;

struct Field {
  const char* name;
  size_t offset, width;
};
constexpr Field kName{"name", 0, 16};
constexpr Field kMtime{"mtime", 16, 12};
constexpr Field kUid{"uid", 28, 6};
constexpr Field kGid{"gid", 34, 6};
constexpr Field kMode{"mode", 40, 8};
constexpr Field kSize{"size", 48, 10};

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// A space-padded number in `base`; all blanks read as 0 unless the field is required.
Result<uint64_t> parse_number(std::string_view header, Field f, int base, bool required) {
  std::string_view raw = header.substr(f.offset, f.width);
  std::string_view v = trim_spaces(raw);
  if (v.empty() && !required) return uint64_t{0};
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n, base);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size())
    return fail(ErrorKind::kCorrupt,
                "bad " + std::string(f.name) + " field \"" + std::string(raw) + "\"");
  return n;
}

// The member name: padding and a GNU trailing '/' removed; the extended-name forms refused.
Result<std::string> parse_name(std::string_view header) {
  std::string_view raw = header.substr(kName.offset, kName.width);
  std::string_view name = raw;
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  if (name.starts_with("#1/"))
    return fail(ErrorKind::kUnsupported, "BSD long member name \"" + std::string(name) + "\"");
  if (name.starts_with("/")) {
    return fail(ErrorKind::kUnsupported,
                "GNU symbol table or long member name \"" + std::string(name) + "\"");
  }
  if (name.ends_with('/')) name.remove_suffix(1);
  if (name.empty() || name.find('/') != std::string_view::npos)
    return fail(ErrorKind::kCorrupt, "bad member name \"" + std::string(raw) + "\"");
  return std::string(name);
}

}  // namespace

struct ArReader::Impl {
  class BodyReader final : public util::Reader {
   public:
    explicit BodyReader(Impl& impl) : impl_(impl) {}
    Result<size_t> read(std::span<char> buf) override {
      if (impl_.body_left == 0) return size_t{0};
      if (buf.size() > impl_.body_left) buf = buf.first(static_cast<size_t>(impl_.body_left));
      auto n = impl_.in.read(buf);
      if (!n) return std::unexpected(std::move(n).error().context(impl_.where()));
      if (*n == 0) return std::unexpected(impl_.error(ErrorKind::kCorrupt, "truncated body"));
      impl_.body_left -= *n;
      return *n;
    }

   private:
    Impl& impl_;
  };

  Impl(util::Reader& r, ArLimits l) : in(r), limits(l), body_reader(*this) {}

  // "ar member 2 (data.tar.xz)", as TarReader names entries (the name once the header is read).
  std::string where() const {
    std::string w = "ar member " + std::to_string(index);
    if (!name.empty()) w += " (" + name + ")";
    return w;
  }
  util::Error error(ErrorKind kind, std::string_view message) const {
    return util::Error(kind, where() + ": " + std::string(message));
  }

  Status check_magic();
  Status skip_rest();
  Result<std::optional<ArMember>> next();

  util::Reader& in;
  ArLimits limits;
  BodyReader body_reader;
  uint64_t body_left = 0;  // unread body bytes of the current member
  bool pad = false;        // a padding byte follows the current body
  bool started = false;    // the magic was read
  bool ended = false;      // the stream ended after a member
  uint64_t next_index = 0;
  uint64_t index = 0;  // of the member being read, for errors
  std::string name;    // of the member being read, for errors
};

Status ArReader::Impl::check_magic() {
  std::string magic(kMagic.size(), '\0');
  size_t n = TRY_CTX(util::read_full(in, magic), "ar archive");
  if (n == 0) return fail(ErrorKind::kCorrupt, "not an ar archive: empty");
  if (magic.substr(0, n) != kMagic)
    return fail(ErrorKind::kCorrupt, "not an ar archive: bad magic");
  started = true;
  return {};
}

// Skips what is left of the current body, then its padding byte. A stream ending where the
// padding byte should be ends the archive (some writers leave the last one out).
Status ArReader::Impl::skip_rest() {
  if (body_left > 0) {
    auto r = util::skip(in, body_left);
    if (!r) {
      if (r.error().kind() == ErrorKind::kCorrupt)
        return std::unexpected(error(ErrorKind::kCorrupt, "truncated body"));
      return std::unexpected(std::move(r).error().context(where()));
    }
    body_left = 0;
  }
  if (pad) {
    char c;
    size_t n = TRY_CTX(in.read(std::span<char>(&c, 1)), where());
    ended = n == 0;
    pad = false;
  }
  return {};
}

Result<std::optional<ArMember>> ArReader::Impl::next() {
  if (!started) TRY(check_magic());
  TRY(skip_rest());
  if (ended) return std::nullopt;
  index = next_index;
  name.clear();
  char buf[kHeaderSize];
  size_t n = TRY_CTX(util::read_full(in, buf), where());
  if (n == 0) {
    ended = true;
    return std::nullopt;
  }
  if (n < kHeaderSize) return std::unexpected(error(ErrorKind::kCorrupt, "truncated header"));
  if (next_index >= limits.max_members) {
    return std::unexpected(
        error(ErrorKind::kLimit, "more than " + std::to_string(limits.max_members) + " members"));
  }
  ++next_index;
  std::string_view header(buf, kHeaderSize);
  if (header.substr(58) != "`\n")
    return std::unexpected(error(ErrorKind::kCorrupt, "bad header (no \"`\\n\" terminator)"));
  ArMember m;
  m.name = TRY_CTX(parse_name(header), where());
  name = m.name;
  m.mtime = static_cast<int64_t>(TRY_CTX(parse_number(header, kMtime, 10, false), where()));
  m.uid = static_cast<uint32_t>(TRY_CTX(parse_number(header, kUid, 10, false), where()));
  m.gid = static_cast<uint32_t>(TRY_CTX(parse_number(header, kGid, 10, false), where()));
  m.mode = static_cast<uint32_t>(TRY_CTX(parse_number(header, kMode, 8, false), where()));
  m.size = TRY_CTX(parse_number(header, kSize, 10, true), where());
  body_left = m.size;
  pad = m.size % 2 == 1;
  return m;
}

ArReader::ArReader(util::Reader& in, ArLimits limits) : impl_(std::make_unique<Impl>(in, limits)) {}
ArReader::~ArReader() = default;

Result<std::optional<ArMember>> ArReader::next() { return impl_->next(); }
util::Reader& ArReader::body() { return impl_->body_reader; }

}  // namespace bonsai::archive
