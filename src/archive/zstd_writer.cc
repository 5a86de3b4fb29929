// zstd compression through libzstd's multi-threaded streaming API. nbWorkers is at least 1 even
// on one core: libzstd's output then depends on the level and job size only, not on the number
// of workers, so digests are the same on every machine. Frames carry a content checksum, as the
// zstd CLI writes by default.
#include <zstd.h>

#include <vector>

#include "archive/compress.h"
#include "util/thread_pool.h"

namespace bonsai::archive {

using util::ErrorKind;
using util::fail;

namespace {

class ZstdWriter final : public util::Writer {
 public:
  ZstdWriter(util::Writer& out, ZSTD_CCtx* cctx)
      : out_(out), cctx_(cctx), buf_(ZSTD_CStreamOutSize()) {}

  Status write(std::string_view data) override {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) TRY(step(in, ZSTD_e_continue));
    return {};
  }

  Status close() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (TRY(step(in, ZSTD_e_end)) != 0) {
    }
    return out_.close();
  }

 private:
  // One compression call; returns what ZSTD_compressStream2 reports still to flush.
  Result<size_t> step(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
    size_t ret = ZSTD_compressStream2(cctx_.get(), &o, &in, mode);
    if (ZSTD_isError(ret))
      return fail(ErrorKind::kInternal, std::string("zstd: ") + ZSTD_getErrorName(ret));
    if (o.pos > 0) TRY(out_.write(std::string_view(buf_.data(), o.pos)));
    return ret;
  }

  struct FreeCCtx {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  util::Writer& out_;
  std::unique_ptr<ZSTD_CCtx, FreeCCtx> cctx_;
  std::vector<char> buf_;
};

Status set(ZSTD_CCtx* c, ZSTD_cParameter p, int v, std::string_view what) {
  size_t r = ZSTD_CCtx_setParameter(c, p, v);
  if (ZSTD_isError(r))
    return fail(ErrorKind::kInternal,
                "zstd: set " + std::string(what) + ": " + ZSTD_getErrorName(r));
  return {};
}

}  // namespace

Result<std::unique_ptr<util::Writer>> zstd_writer(util::Writer& out, CompressOptions options) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  if (!c) return fail(ErrorKind::kInternal, "zstd: out of memory");
  auto w = std::make_unique<ZstdWriter>(out, c);
  unsigned threads = options.threads == 0 ? util::ThreadPool::default_threads() : options.threads;
  TRY(set(c, ZSTD_c_compressionLevel, options.zstd_level, "level"));
  TRY(set(c, ZSTD_c_checksumFlag, 1, "checksum"));
  TRY(set(c, ZSTD_c_nbWorkers, static_cast<int>(std::max(1u, threads)),
          "workers (libzstd built without threads?)"));
  return w;
}

Result<std::unique_ptr<util::Writer>> compressing_writer(Compression c, util::Writer& out,
                                                         CompressOptions options) {
  // Forwards as is; close() closes out, like the compressing writers.
  class Plain final : public util::Writer {
   public:
    explicit Plain(util::Writer& out) : out_(out) {}
    Status write(std::string_view data) override { return out_.write(data); }
    Status close() override { return out_.close(); }

   private:
    util::Writer& out_;
  };
  switch (c) {
    case Compression::kGzip:
      return gzip_writer(out, options);
    case Compression::kZstd:
      return zstd_writer(out, options);
    case Compression::kXz:
    case Compression::kBzip2:
      return util::fail(util::ErrorKind::kUnsupported,
                        std::string(compression_name(c)) + " compression is read but not written");
    case Compression::kNone:
      break;
  }
  return std::make_unique<Plain>(out);
}

}  // namespace bonsai::archive
