// Compression for layers: detection, streaming decompression with bomb limits, and parallel
// compressing writers. See docs/layers.md for the formats written.
//
// Decompression: gzip through ISA-L's igzip inflate (streaming, every member of a multi-member
// stream, CRC-32 and size trailers checked); zstd through ZSTD_decompressStream (every frame,
// skippable frames ignored, window capped at 128 MiB); xz through liblzma (every stream of a
// multi-stream file, stream padding, integrity checks verified, decoder memory capped); bzip2
// through libbz2 (every stream of a multi-stream file, block CRCs checked). OCI layers use only
// gzip, zstd or no compression; xz and bzip2 are read for other archives (ADD's tarballs, the
// members of a .deb) and AutoDecompressReader refuses them unless asked for them.
//
// Compression: gzip input is cut into fixed-size shards compressed independently on a thread
// pool and written in order as concatenated gzip members: one valid gzip stream (RFC 1952 allows
// members back to back; gzip, pigz, Go and Docker read them). Shard boundaries depend only on
// the byte offset, never on thread timing or write() sizes, so the output is deterministic. zstd
// uses libzstd's own worker threads (always in multi-threaded mode, whose output does not depend
// on the number of workers).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "util/error.h"
#include "util/io.h"

namespace bonsai::archive {

using util::Result;
using util::Status;

enum class Compression { kNone, kGzip, kZstd, kXz, kBzip2 };

// "none", "gzip", "zstd", "xz", "bzip2".
std::string_view compression_name(Compression c);

// The compressions an OCI layer may use: none, gzip and zstd.
bool is_layer_compression(Compression c);

// From the first bytes of a stream (6 are enough): gzip 1f 8b, zstd 28 b5 2f fd, xz
// fd 37 7a 58 5a 00, bzip2 "BZh" and a block size digit 1-9, else kNone.
Compression detect_compression(std::string_view head);

// Checks the first bytes of a stream for a compression bonsai does not read (lz4, zip) and
// returns its name, or an empty view.
std::string_view unsupported_compression(std::string_view head);

// Limits against decompression bombs. Exceeding one is an ErrorKind::kLimit error naming the
// limit and the sizes involved.
struct DecompressLimits {
  uint64_t max_output = uint64_t{64} << 30;  // decompressed bytes in total
  // Decompressed bytes per compressed byte, enforced once the output passes ratio_min_output
  // (small streams of zeros legitimately compress thousands to one).
  uint64_t max_ratio = 1000;
  uint64_t ratio_min_output = uint64_t{64} << 20;
  // Memory the xz decoder may use (mostly its dictionary; xz -9 needs 65 MiB). A stream that
  // needs more is refused before anything is allocated.
  uint64_t max_xz_memory = uint64_t{256} << 20;
};

// Streaming decompressors reading compressed bytes from `in` (which must outlive them).
// Errors: kCorrupt for malformed, truncated or checksum-failing input (gzip: trailing bytes
// other than zeros after the last member; xz: anything after the last stream but stream
// padding; bzip2: anything after the last stream), kLimit per DecompressLimits.
std::unique_ptr<util::Reader> gzip_reader(util::Reader& in, DecompressLimits limits = {});
std::unique_ptr<util::Reader> zstd_reader(util::Reader& in, DecompressLimits limits = {});
std::unique_ptr<util::Reader> xz_reader(util::Reader& in, DecompressLimits limits = {});
std::unique_ptr<util::Reader> bzip2_reader(util::Reader& in, DecompressLimits limits = {});
// kNone gives a reader that passes bytes through, still under limits.max_output.
std::unique_ptr<util::Reader> decompressing_reader(Compression c, util::Reader& in,
                                                   DecompressLimits limits = {});

// Which compressions AutoDecompressReader accepts: those of OCI layers (none, gzip, zstd), or
// every one bonsai reads (also xz and bzip2: ADD's archives, .deb members).
enum class AcceptedCompressions { kLayer, kAll };

// A reader that detects the compression of `in` from its first bytes and decompresses it.
// Fails with kUnsupported for lz4, zip and, unless `accept` is kAll, xz and bzip2.
class AutoDecompressReader final : public util::Reader {
 public:
  static Result<std::unique_ptr<AutoDecompressReader>> open(
      util::Reader& in, DecompressLimits limits = {},
      AcceptedCompressions accept = AcceptedCompressions::kLayer);
  Result<size_t> read(std::span<char> buf) override;
  Compression compression() const { return compression_; }

 private:
  AutoDecompressReader() = default;
  Compression compression_ = Compression::kNone;
  std::unique_ptr<util::Reader> replay_;  // the peeked bytes, then the rest of `in`
  std::unique_ptr<util::Reader> inner_;
};

enum class GzipLevel {
  kFast,  // ISA-L igzip level 2: ~1.1x gzip -6's size, ~8x faster than pigz -p2 on two cores
  kHigh,  // libdeflate level 6: smaller than gzip -6, ~2x faster than pigz -p2 on two cores
};

struct CompressOptions {
  unsigned threads = 0;  // 0: every core
  GzipLevel gzip_level = GzipLevel::kFast;
  size_t gzip_shard_size = 4 << 20;  // uncompressed bytes per gzip member
  int zstd_level = 3;
};

// Compressing writers forwarding the compressed stream to `out` (which must outlive them).
// close() ends the stream (an empty input still yields a valid, empty gzip/zstd stream) and then
// closes out. Memory stays bounded whatever the input size: at most min(2 * threads + 1,
// 128 MiB / (2 * shard size)) gzip shards (input and output) are in flight; write() blocks while
// the oldest is being compressed.
Result<std::unique_ptr<util::Writer>> gzip_writer(util::Writer& out, CompressOptions options = {});
Result<std::unique_ptr<util::Writer>> zstd_writer(util::Writer& out, CompressOptions options = {});
// kNone gives a writer that passes bytes through; kXz and kBzip2 fail with kUnsupported (bonsai
// reads them but never writes them).
Result<std::unique_ptr<util::Writer>> compressing_writer(Compression c, util::Writer& out,
                                                         CompressOptions options = {});

}  // namespace bonsai::archive
