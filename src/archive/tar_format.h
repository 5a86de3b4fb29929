// Internal to the archive module: the ustar header block layout shared by the tar reader and
// writer, and the numeric field codecs (octal and GNU base-256).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bonsai::archive::tar_format {

inline constexpr size_t kBlockSize = 512;

// A field of the 512-byte header: offset and width.
struct Field {
  size_t offset;
  size_t size;
};

inline constexpr Field kName{0, 100};
inline constexpr Field kMode{100, 8};
inline constexpr Field kUid{108, 8};
inline constexpr Field kGid{116, 8};
inline constexpr Field kSize{124, 12};
inline constexpr Field kMtime{136, 12};
inline constexpr Field kChecksum{148, 8};
inline constexpr Field kTypeflag{156, 1};
inline constexpr Field kLinkname{157, 100};
inline constexpr Field kMagic{257, 6};
inline constexpr Field kVersion{263, 2};
inline constexpr Field kUname{265, 32};
inline constexpr Field kGname{297, 32};
inline constexpr Field kDevMajor{329, 8};
inline constexpr Field kDevMinor{337, 8};
inline constexpr Field kPrefix{345, 155};

inline std::string_view field(const char* block, Field f) { return {block + f.offset, f.size}; }

// The field up to its first NUL.
inline std::string_view field_str(const char* block, Field f) {
  std::string_view v = field(block, f);
  size_t nul = v.find('\0');
  return nul == std::string_view::npos ? v : v.substr(0, nul);
}

// Parses a numeric field: octal digits surrounded by spaces/NULs, or GNU base-256 (first byte
// 0x80 for positive, 0xff for negative, big-endian two's complement in the rest). An all-blank
// field is 0. Returns nullopt when malformed or out of int64 range.
std::optional<int64_t> parse_number(std::string_view f);

// The sum of the header's bytes with the checksum field taken as spaces, unsigned and signed
// (historic tars used signed chars; both are accepted).
struct Checksums {
  int64_t unsigned_sum;
  int64_t signed_sum;
};
Checksums checksums(const char* block);

inline uint64_t padding(uint64_t size) { return (kBlockSize - size % kBlockSize) % kBlockSize; }

}  // namespace bonsai::archive::tar_format
