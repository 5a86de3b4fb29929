// bonsai-compress: compresses stdin to stdout the way bonsai writes layers (or hashes or
// decompresses it), printing digests and sizes to stderr. It drives bench/layer-compress.sh.
//
//   bonsai-compress --gzip[=fast|high] | --zstd[=LEVEL] | --none   compress, hash both sides
//   bonsai-compress --sha256                                        hash stdin only
//   bonsai-compress -d                                              decompress (auto-detected)
// Options: --threads=N (default: every core), --shard=BYTES (gzip member input size),
// --no-digest (compress only, skipping both SHA-256 passes: to compare the engines alone).
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "archive/layer_writer.h"
#include "util/sha256.h"

namespace {

using namespace bonsai;

enum class Mode { kCompress, kHash, kDecompress };

// Plain stdin/stdout streams (the tool needs nothing else from sys/).
class StdinReader final : public util::Reader {
 public:
  util::Result<size_t> read(std::span<char> buf) override {
    for (;;) {
      ssize_t n = ::read(0, buf.data(), buf.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return util::sys_fail("read stdin");
    }
  }
};

class StdoutWriter final : public util::Writer {
 public:
  util::Status write(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(1, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return util::sys_fail("write stdout");
      data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }
};

struct Args {
  Mode mode = Mode::kCompress;
  bool digests = true;
  archive::LayerWriterOptions layer;
};

bool parse_args(int argc, char** argv, Args& a) {
  bool chosen = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--gzip" || arg == "--gzip=fast" || arg == "--gzip=high") {
      a.layer.compression = archive::Compression::kGzip;
      a.layer.compress.gzip_level =
          arg == "--gzip=high" ? archive::GzipLevel::kHigh : archive::GzipLevel::kFast;
    } else if (arg == "--zstd" || arg.starts_with("--zstd=")) {
      a.layer.compression = archive::Compression::kZstd;
      if (arg.size() > 7) a.layer.compress.zstd_level = std::stoi(std::string(arg.substr(7)));
    } else if (arg == "--none") {
      a.layer.compression = archive::Compression::kNone;
    } else if (arg == "--sha256") {
      a.mode = Mode::kHash;
    } else if (arg == "-d" || arg == "--decompress") {
      a.mode = Mode::kDecompress;
    } else if (arg.starts_with("--threads=")) {
      a.layer.compress.threads = static_cast<unsigned>(std::stoul(std::string(arg.substr(10))));
      continue;
    } else if (arg == "--no-digest") {
      a.digests = false;
      continue;
    } else if (arg.starts_with("--shard=")) {
      a.layer.compress.gzip_shard_size = std::stoull(std::string(arg.substr(8)));
      continue;
    } else {
      return false;
    }
    if (chosen) return false;
    chosen = true;
  }
  return chosen;
}

util::Status hash_only(util::Reader& in) {
  util::Sha256 h;
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  for (;;) {
    size_t n = TRY(in.read(buf));
    if (n == 0) break;
    h.update(std::string_view(buf.data(), n));
    total += n;
  }
  fmt::print(stderr, "sha256:{} size {}\n", h.finish_hex(), total);
  return {};
}

void print(const archive::LayerDigests& d) {
  fmt::print(stderr, "compression {}\ndigest {} size {}\ndiff_id {} size {}\n",
             archive::compression_name(d.compression), d.digest.str(), d.size, d.diff_id.str(),
             d.uncompressed_size);
}

util::Status compress_only(util::Reader& in, util::Writer& out, const Args& a) {
  auto w = TRY(archive::compressing_writer(a.layer.compression, out, a.layer.compress));
  uint64_t total = TRY(util::copy(in, *w));
  TRY(w->close());
  fmt::print(stderr, "compression {}\nuncompressed size {}\n",
             archive::compression_name(a.layer.compression), total);
  return {};
}

util::Status compress(util::Reader& in, util::Writer& out, const Args& a) {
  if (!a.digests) return compress_only(in, out, a);
  auto layer = TRY(archive::LayerWriter::create(out, a.layer));
  std::vector<char> buf(1 << 20);
  for (;;) {
    size_t n = TRY(in.read(buf));
    if (n == 0) break;
    TRY(layer->write(std::string_view(buf.data(), n)));
  }
  print(TRY(layer->finish()));
  return {};
}

util::Status decompress(util::Reader& in, util::Writer& out) {
  auto layer = TRY(archive::LayerReader::open(in));
  std::vector<char> buf(1 << 20);
  for (;;) {
    size_t n = TRY(layer->read(buf));
    if (n == 0) break;
    TRY(out.write(std::string_view(buf.data(), n)));
  }
  print(TRY(layer->finish()));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    fmt::print(stderr,
               "usage: bonsai-compress --gzip[=fast|high] | --zstd[=LEVEL] | --none | --sha256 | -d"
               " [--threads=N] [--shard=BYTES] [--no-digest] <in >out\n");
    return 2;
  }
  StdinReader in;
  StdoutWriter out;
  const auto start = std::chrono::steady_clock::now();
  util::Status st = args.mode == Mode::kHash         ? hash_only(in)
                    : args.mode == Mode::kDecompress ? decompress(in, out)
                                                     : compress(in, out, args);
  if (!st) {
    fmt::print(stderr, "bonsai-compress: error: {}\n", st.error().message());
    return 1;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  fmt::print(stderr, "seconds {:.3f}\n", took.count());
  return 0;
}
