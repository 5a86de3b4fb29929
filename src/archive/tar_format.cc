#include "archive/tar_format.h"

#include <limits>

namespace bonsai::archive::tar_format {

namespace {

std::optional<int64_t> parse_base256(std::string_view f) {
  const auto first = static_cast<uint8_t>(f[0]);
  const bool negative = first == 0xff;
  // Two's complement: accumulate the bits of a negative number inverted, then undo.
  const uint8_t flip = negative ? 0xff : 0x00;
  uint64_t v = (first ^ flip) & 0x7f;
  if (!negative && first != 0x80) return std::nullopt;
  for (size_t i = 1; i < f.size(); ++i) {
    if (v > (std::numeric_limits<uint64_t>::max() >> 8)) return std::nullopt;
    v = (v << 8) | (static_cast<uint8_t>(f[i]) ^ flip);
  }
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return negative ? -static_cast<int64_t>(v) - 1 : static_cast<int64_t>(v);
}

}  // namespace

std::optional<int64_t> parse_number(std::string_view f) {
  if (f.empty()) return std::nullopt;
  if (static_cast<uint8_t>(f[0]) & 0x80) return parse_base256(f);
  size_t i = 0;
  while (i < f.size() && (f[i] == ' ' || f[i] == '\0')) ++i;
  uint64_t v = 0;
  bool digits = false;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v > (std::numeric_limits<uint64_t>::max() >> 3)) return std::nullopt;
    v = (v << 3) | static_cast<uint64_t>(f[i] - '0');
    digits = true;
  }
  for (; i < f.size(); ++i) {
    if (f[i] != ' ' && f[i] != '\0') return std::nullopt;
  }
  if (!digits) return int64_t{0};
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(v);
}

Checksums checksums(const char* block) {
  Checksums c{0, 0};
  for (size_t i = 0; i < kBlockSize; ++i) {
    const bool in_field = i >= kChecksum.offset && i < kChecksum.offset + kChecksum.size;
    const char ch = in_field ? ' ' : block[i];
    c.unsigned_sum += static_cast<uint8_t>(ch);
    c.signed_sum += static_cast<signed char>(ch);
  }
  return c;
}

}  // namespace bonsai::archive::tar_format
