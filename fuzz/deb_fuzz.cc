// Fuzzes the .deb reader and everything under it: the ar reader, the tar reader and every
// decompressor (gzip, zstd, xz, bzip2). Properties: no crash, hang or unbounded allocation;
// on_control comes once and before any data entry; a file entry's body yields exactly its size
// when it reads without error; the control text is the "control" member's.
//
// The first byte picks the input's shape. 0: the rest is a whole .deb. Otherwise the rest is
// cut in two (at a place given by the next two bytes) and wrapped as control.tar<ext> and
// data.tar<ext> of a well-formed ar archive, the extensions picked by the first byte, so that
// the fuzzer reaches the decompressors and the tar reader without having to find the ar
// framing first.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "archive/ar.h"
#include "debian/deb.h"

using namespace bonsai;

namespace {

class CheckingVisitor final : public debian::DebVisitor {
 public:
  util::Status on_control(debian::DebControl&& c) override {
    if (control_seen_ || data_seen_) std::abort();
    control_seen_ = true;
    auto it = c.members.find("control");
    if (it == c.members.end() || it->second.data != c.control) std::abort();
    return {};
  }
  util::Status on_data_entry(const archive::TarEntry& e, util::Reader& body) override {
    if (!control_seen_) std::abort();
    data_seen_ = true;
    char buf[4096];
    uint64_t total = 0;
    for (;;) {
      size_t n = TRY(body.read(buf));
      if (n == 0) break;
      total += n;
    }
    if (e.type == archive::EntryType::kFile && total != e.size) std::abort();
    return {};
  }

 private:
  bool control_seen_ = false;
  bool data_seen_ = false;
};

std::string ar_member(std::string_view name, std::string_view body) {
  auto field = [](std::string s, size_t width) {
    s.resize(width, ' ');
    return s;
  };
  std::string out = field(std::string(name), 16) + field("0", 12) + field("0", 6) + field("0", 6) +
                    field("100644", 8) + field(std::to_string(body.size()), 10) + "`\n";
  out += body;
  if (body.size() % 2) out += '\n';
  return out;
}

std::string wrap(uint8_t shape, std::string_view rest) {
  static const char* const kControl[] = {"control.tar", "control.tar.gz", "control.tar.xz",
                                         "control.tar.zst"};
  static const char* const kData[] = {"data.tar", "data.tar.gz", "data.tar.xz", "data.tar.zst",
                                      "data.tar.bz2"};
  size_t cut = 0;
  if (rest.size() >= 2) {
    cut = (static_cast<uint8_t>(rest[0]) << 8 | static_cast<uint8_t>(rest[1])) % (rest.size() - 1);
    rest.remove_prefix(2);
    cut = std::min(cut, rest.size());
  }
  return "!<arch>\n" + ar_member("debian-binary", "2.0\n") +
         ar_member(kControl[shape % 4], rest.substr(0, cut)) +
         ar_member(kData[(shape / 4) % 5], rest.substr(cut));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string deb = data[0] == 0 ? std::string(rest) : wrap(data[0], rest);

  debian::DebLimits limits;
  limits.max_control = 1 << 20;
  limits.data.max_output = 16 << 20;
  limits.data.max_xz_memory = 32 << 20;
  util::StringReader in(deb);
  CheckingVisitor v;
  (void)debian::read_deb(in, "fuzz.deb", v, limits);

  // The ar reader alone: bodies yield their declared sizes.
  util::StringReader again(deb);
  archive::ArReader ar(again);
  for (;;) {
    auto m = ar.next();
    if (!m || !*m) break;
    auto body = util::read_all(ar.body(), 64 << 20);
    if (body && body->size() != (*m)->size) std::abort();
  }
  return 0;
}
