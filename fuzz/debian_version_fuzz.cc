// Fuzzes Debian version parsing and ordering. The input is split at its first newline into two
// versions. Properties: parsing never crashes; a parsed version compares equal to itself and to
// its canonical text parsed back; the order is antisymmetric; the lenient text comparison is
// antisymmetric too, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "debian/version.h"

using namespace bonsai::debian;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string_view a = text.substr(0, nl);
  std::string_view b = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);

  if (compare_versions(a, b) != -compare_versions(b, a)) std::abort();
  if (compare_versions(a, a) != 0) std::abort();

  auto va = parse_version(a);
  auto vb = parse_version(b);
  if (va) {
    if (compare_versions(*va, *va) != 0) std::abort();
    auto again = parse_version(va->to_string());
    if (!again || compare_versions(*again, *va) != 0) std::abort();
    if (compare_versions(a, va->to_string()) != 0) std::abort();
  }
  if (va && vb && compare_versions(*va, *vb) != compare_versions(a, b)) std::abort();
  return 0;
}
