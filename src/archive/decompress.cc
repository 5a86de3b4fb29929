// Streaming decompression: gzip (ISA-L inflate), zstd (libzstd), xz (liblzma), bzip2 (libbz2),
// pass-through, and detection.
#include <bzlib.h>
#include <isa-l/igzip_lib.h>
#include <lzma.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "archive/compress.h"

namespace bonsai::archive {

using util::ErrorKind;
using util::fail;

namespace {

constexpr size_t kInputBuffer = 256 << 10;

// Counts output against DecompressLimits.
class LimitCheck {
 public:
  LimitCheck(DecompressLimits limits, std::string_view format) : limits_(limits), format_(format) {}

  Status add(uint64_t produced, uint64_t consumed) {
    out_ += produced;
    if (out_ > limits_.max_output) {
      return fail(ErrorKind::kLimit, std::string(format_) +
                                         ": decompressed size exceeds the limit of " +
                                         std::to_string(limits_.max_output) + " bytes");
    }
    if (out_ > limits_.ratio_min_output && consumed > 0 && out_ / consumed > limits_.max_ratio) {
      return fail(ErrorKind::kLimit,
                  std::string(format_) + ": compression ratio exceeds the limit of " +
                      std::to_string(limits_.max_ratio) + ":1 (" + std::to_string(out_) +
                      " bytes from " + std::to_string(consumed) + "; a decompression bomb?)");
    }
    return {};
  }

 private:
  DecompressLimits limits_;
  std::string_view format_;
  uint64_t out_ = 0;
};

// Buffered compressed input shared by the decompressors.
class Input {
 public:
  explicit Input(util::Reader& in) : in_(in), buf_(kInputBuffer) {}
  // Refills when empty; false at end of stream.
  Result<bool> fill() {
    if (pos_ < len_) return true;
    if (eof_) return false;
    len_ = TRY(in_.read(buf_));
    pos_ = 0;
    consumed_ += len_;
    eof_ = len_ == 0;
    return !eof_;
  }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(buf_.data()) + pos_; }
  size_t size() const { return len_ - pos_; }
  void advance(size_t n) { pos_ += n; }
  uint64_t consumed() const { return consumed_; }

 private:
  util::Reader& in_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  uint64_t consumed_ = 0;
  bool eof_ = false;
};

std::string isal_error(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid deflate distance";
    case ISAL_INVALID_WRAPPER:
      return "bad gzip header";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported gzip compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "CRC-32 or size mismatch in gzip trailer";
    default:
      return "inflate error " + std::to_string(code);
  }
}

class GzipReader final : public util::Reader {
 public:
  GzipReader(util::Reader& in, DecompressLimits limits)
      : in_(in), check_(limits, "gzip"), state_(std::make_unique<inflate_state>()) {
    start_member();
  }

  Result<size_t> read(std::span<char> buf) override {
    if (done_ || buf.empty()) return size_t{0};
    for (;;) {
      if (member_done_) {
        const bool more = TRY(next_member());
        if (!more) {
          done_ = true;
          return size_t{0};
        }
      }
      const bool have_input = TRY(in_.fill());
      state_->next_in = const_cast<uint8_t*>(in_.data());
      state_->avail_in = static_cast<uint32_t>(in_.size());
      const size_t want = std::min<size_t>(buf.size(), UINT32_MAX);
      state_->next_out = reinterpret_cast<uint8_t*>(buf.data());
      state_->avail_out = static_cast<uint32_t>(want);
      const int ret = isal_inflate(state_.get());
      in_.advance(in_.size() - state_->avail_in);
      if (ret < 0) return fail(ErrorKind::kCorrupt, "gzip: " + isal_error(ret));
      const size_t produced = want - state_->avail_out;
      if (state_->block_state == ISAL_BLOCK_FINISH) member_done_ = true;
      if (produced > 0) {
        TRY(check_.add(produced, in_.consumed()));
        return produced;
      }
      if (!member_done_ && !have_input)
        return fail(ErrorKind::kCorrupt, "gzip: unexpected end of stream");
    }
  }

 private:
  void start_member() {
    isal_inflate_init(state_.get());
    state_->crc_flag = ISAL_GZIP;
    member_done_ = false;
  }

  // After a member: another member follows, or only zero padding up to the end of the stream.
  Result<bool> next_member() {
    if (!TRY(in_.fill())) return false;
    if (in_.data()[0] == 0x1f) {
      start_member();
      return true;
    }
    if (in_.data()[0] != 0)
      return fail(ErrorKind::kCorrupt, "gzip: trailing garbage after the last member");
    for (;;) {
      const uint8_t* p = in_.data();
      if (std::any_of(p, p + in_.size(), [](uint8_t c) { return c != 0; }))
        return fail(ErrorKind::kCorrupt, "gzip: trailing garbage after the last member");
      in_.advance(in_.size());
      if (!TRY(in_.fill())) return false;
    }
  }

  Input in_;
  LimitCheck check_;
  std::unique_ptr<inflate_state> state_;
  bool member_done_ = false;
  bool done_ = false;
};

class ZstdReader final : public util::Reader {
 public:
  ZstdReader(util::Reader& in, DecompressLimits limits)
      : in_(in), check_(limits, "zstd"), dctx_(ZSTD_createDCtx()) {
    ZSTD_DCtx_setParameter(dctx_.get(), ZSTD_d_windowLogMax, 27);
  }

  Result<size_t> read(std::span<char> buf) override {
    if (done_ || buf.empty()) return size_t{0};
    if (!dctx_) return fail(ErrorKind::kInternal, "zstd: out of memory");
    for (;;) {
      const bool have_input = TRY(in_.fill());
      if (!have_input && frame_done_ && !flushing_) {
        done_ = true;
        return size_t{0};
      }
      ZSTD_inBuffer in{in_.data(), in_.size(), 0};
      ZSTD_outBuffer out{buf.data(), buf.size(), 0};
      const size_t ret = ZSTD_decompressStream(dctx_.get(), &out, &in);
      in_.advance(in.pos);
      if (ZSTD_isError(ret))
        return fail(ErrorKind::kCorrupt, std::string("zstd: ") + ZSTD_getErrorName(ret));
      frame_done_ = ret == 0;
      // A full output buffer may leave decoded bytes inside the context (unless the frame ended:
      // calling again would then start reading a next frame that is not there).
      flushing_ = out.pos == out.size && !frame_done_;
      if (out.pos > 0) {
        TRY(check_.add(out.pos, in_.consumed()));
        return out.pos;
      }
      if (!have_input && !frame_done_)
        return fail(ErrorKind::kCorrupt, "zstd: unexpected end of stream");
    }
  }

 private:
  struct FreeDCtx {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
  };
  Input in_;
  LimitCheck check_;
  std::unique_ptr<ZSTD_DCtx, FreeDCtx> dctx_;
  bool frame_done_ = false;  // the last call ended a frame (no frame yet counts as not ended)
  bool flushing_ = false;
  bool done_ = false;
};

std::string lzma_error(lzma_ret ret) {
  switch (ret) {
    case LZMA_FORMAT_ERROR:
      return "not an xz stream";
    case LZMA_OPTIONS_ERROR:
      return "unsupported or invalid stream options";
    case LZMA_DATA_ERROR:
      return "corrupt stream (damaged data, failed integrity check or trailing garbage)";
    case LZMA_BUF_ERROR:
      return "unexpected end of stream";
    default:
      return "decoder error " + std::to_string(static_cast<int>(ret));
  }
}

// liblzma's stream decoder in LZMA_CONCATENATED mode reads every stream of a multi-stream file
// and the stream padding between them, and reports the end only once told the input ended
// (LZMA_FINISH); input after the last stream that is not another stream is a format error.
class XzReader final : public util::Reader {
 public:
  XzReader(util::Reader& in, DecompressLimits limits)
      : in_(in), check_(limits, "xz"), max_memory_(limits.max_xz_memory) {
    init_ = lzma_stream_decoder(&strm_, max_memory_, LZMA_CONCATENATED);
  }
  ~XzReader() override { lzma_end(&strm_); }

  Result<size_t> read(std::span<char> buf) override {
    if (done_ || buf.empty()) return size_t{0};
    if (init_ != LZMA_OK) return fail(ErrorKind::kInternal, "xz: cannot start the decoder");
    for (;;) {
      const bool have_input = TRY(in_.fill());
      strm_.next_in = in_.data();
      strm_.avail_in = in_.size();
      strm_.next_out = reinterpret_cast<uint8_t*>(buf.data());
      strm_.avail_out = buf.size();
      const lzma_ret ret = lzma_code(&strm_, have_input ? LZMA_RUN : LZMA_FINISH);
      in_.advance(in_.size() - strm_.avail_in);
      const size_t produced = buf.size() - strm_.avail_out;
      if (ret == LZMA_STREAM_END) done_ = true;
      if (ret == LZMA_MEMLIMIT_ERROR) {
        return fail(ErrorKind::kLimit,
                    "xz: decoding needs " + std::to_string(lzma_memusage(&strm_)) +
                        " bytes of memory, over the limit of " + std::to_string(max_memory_));
      }
      if (ret == LZMA_MEM_ERROR) return fail(ErrorKind::kInternal, "xz: out of memory");
      if (ret != LZMA_OK && ret != LZMA_STREAM_END)
        return fail(ErrorKind::kCorrupt, "xz: " + lzma_error(ret));
      if (produced > 0) {
        TRY(check_.add(produced, in_.consumed()));
        return produced;
      }
      if (done_) return size_t{0};
      // Without input, LZMA_FINISH either ends the stream or fails with LZMA_BUF_ERROR on the
      // next call, so this loop ends.
    }
  }

 private:
  Input in_;
  LimitCheck check_;
  uint64_t max_memory_;
  lzma_stream strm_ = LZMA_STREAM_INIT;
  lzma_ret init_ = LZMA_PROG_ERROR;
  bool done_ = false;
};

std::string bzip2_error(int code) {
  switch (code) {
    case BZ_DATA_ERROR:
      return "corrupt data or CRC mismatch";
    case BZ_DATA_ERROR_MAGIC:
      return "not a bzip2 stream";
    case BZ_MEM_ERROR:
      return "out of memory";
    default:
      return "decoder error " + std::to_string(code);
  }
}

// libbz2 decodes one stream at a time; after its end another stream ("BZh") may follow, as
// pbzip2 and `cat a.bz2 b.bz2` write them. Anything else after the last stream is kCorrupt.
class Bzip2Reader final : public util::Reader {
 public:
  Bzip2Reader(util::Reader& in, DecompressLimits limits) : in_(in), check_(limits, "bzip2") {}
  ~Bzip2Reader() override {
    if (open_) BZ2_bzDecompressEnd(&strm_);
  }

  Result<size_t> read(std::span<char> buf) override {
    if (done_ || buf.empty()) return size_t{0};
    for (;;) {
      const bool have_input = TRY(in_.fill());
      if (!open_) {
        if (!have_input && streams_ > 0) {
          done_ = true;
          return size_t{0};
        }
        TRY(start_stream());
      }
      strm_.next_in = const_cast<char*>(reinterpret_cast<const char*>(in_.data()));
      strm_.avail_in = static_cast<unsigned>(std::min<size_t>(in_.size(), UINT32_MAX));
      const size_t want = std::min<size_t>(buf.size(), UINT32_MAX);
      strm_.next_out = buf.data();
      strm_.avail_out = static_cast<unsigned>(want);
      const unsigned avail_in = strm_.avail_in;
      const int ret = BZ2_bzDecompress(&strm_);
      in_.advance(avail_in - strm_.avail_in);
      if (ret == BZ_DATA_ERROR_MAGIC && streams_ > 1)
        return fail(ErrorKind::kCorrupt, "bzip2: trailing garbage after the last stream");
      if (ret != BZ_OK && ret != BZ_STREAM_END)
        return fail(ErrorKind::kCorrupt, "bzip2: " + bzip2_error(ret));
      if (ret == BZ_STREAM_END) {
        BZ2_bzDecompressEnd(&strm_);
        open_ = false;
      }
      const size_t produced = want - strm_.avail_out;
      if (produced > 0) {
        TRY(check_.add(produced, in_.consumed()));
        return produced;
      }
      if (open_ && !have_input) return fail(ErrorKind::kCorrupt, "bzip2: unexpected end of stream");
    }
  }

 private:
  Status start_stream() {
    strm_ = {};
    if (BZ2_bzDecompressInit(&strm_, 0, 0) != BZ_OK)
      return fail(ErrorKind::kInternal, "bzip2: cannot start the decoder");
    open_ = true;
    ++streams_;
    return {};
  }

  Input in_;
  LimitCheck check_;
  bz_stream strm_ = {};
  bool open_ = false;  // strm_ is initialised and inside a stream
  uint64_t streams_ = 0;
  bool done_ = false;
};

class PlainReader final : public util::Reader {
 public:
  PlainReader(util::Reader& in, DecompressLimits limits) : in_(in), check_(limits, "layer") {}
  Result<size_t> read(std::span<char> buf) override {
    size_t n = TRY(in_.read(buf));
    total_ += n;
    TRY(check_.add(n, total_));
    return n;
  }

 private:
  util::Reader& in_;
  LimitCheck check_;
  uint64_t total_ = 0;
};

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kXz:
      return "xz";
    case Compression::kBzip2:
      return "bzip2";
  }
  return "none";
}

bool is_layer_compression(Compression c) {
  return c == Compression::kNone || c == Compression::kGzip || c == Compression::kZstd;
}

Compression detect_compression(std::string_view head) {
  if (head.starts_with("\x1f\x8b")) return Compression::kGzip;
  if (head.starts_with("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  if (head.starts_with(std::string_view("\xfd"
                                        "7zXZ\0",
                                        6)))
    return Compression::kXz;
  if (head.size() >= 4 && head.starts_with("BZh") && head[3] >= '1' && head[3] <= '9')
    return Compression::kBzip2;
  return Compression::kNone;
}

std::string_view unsupported_compression(std::string_view head) {
  if (head.starts_with("\x04\x22\x4d\x18")) return "lz4";
  if (head.starts_with("PK\x03\x04")) return "zip";
  return {};
}

std::unique_ptr<util::Reader> gzip_reader(util::Reader& in, DecompressLimits limits) {
  return std::make_unique<GzipReader>(in, limits);
}

std::unique_ptr<util::Reader> zstd_reader(util::Reader& in, DecompressLimits limits) {
  return std::make_unique<ZstdReader>(in, limits);
}

std::unique_ptr<util::Reader> xz_reader(util::Reader& in, DecompressLimits limits) {
  return std::make_unique<XzReader>(in, limits);
}

std::unique_ptr<util::Reader> bzip2_reader(util::Reader& in, DecompressLimits limits) {
  return std::make_unique<Bzip2Reader>(in, limits);
}

std::unique_ptr<util::Reader> decompressing_reader(Compression c, util::Reader& in,
                                                   DecompressLimits limits) {
  switch (c) {
    case Compression::kGzip:
      return gzip_reader(in, limits);
    case Compression::kZstd:
      return zstd_reader(in, limits);
    case Compression::kXz:
      return xz_reader(in, limits);
    case Compression::kBzip2:
      return bzip2_reader(in, limits);
    case Compression::kNone:
      break;
  }
  return std::make_unique<PlainReader>(in, limits);
}

Result<std::unique_ptr<AutoDecompressReader>> AutoDecompressReader::open(
    util::Reader& in, DecompressLimits limits, AcceptedCompressions accept) {
  std::string head(8, '\0');
  head.resize(TRY(util::read_full(in, head)));
  const bool layer = accept == AcceptedCompressions::kLayer;
  if (std::string_view name = unsupported_compression(head); !name.empty()) {
    return fail(ErrorKind::kUnsupported, std::string(name) + " compressed " +
                                             (layer ? "layers" : "streams") + " are not supported");
  }
  const Compression c = detect_compression(head);
  if (layer && !is_layer_compression(c)) {
    return fail(ErrorKind::kUnsupported, std::string(compression_name(c)) +
                                             " compressed layers are not supported (OCI layers "
                                             "are gzip, zstd or uncompressed tar)");
  }
  std::unique_ptr<AutoDecompressReader> r(new AutoDecompressReader());
  r->compression_ = c;
  r->replay_ = std::make_unique<util::PrefixReader>(std::move(head), in);
  r->inner_ = decompressing_reader(r->compression_, *r->replay_, limits);
  return r;
}

Result<size_t> AutoDecompressReader::read(std::span<char> buf) { return inner_->read(buf); }

}  // namespace bonsai::archive
