// Layer blobs: a tar stream compressed and hashed in one pass (LayerWriter), and a blob
// decompressed and hashed in one pass (LayerReader).
//
// An image layer has two digests: the blob's (the compressed bytes, used in manifests and as the
// store's file name) and the diff-id (the uncompressed tar, used in the image config's rootfs).
// Both are computed while the bytes stream through, never by reading the blob twice.
#pragma once

#include <cstdint>
#include <memory>

#include "archive/compress.h"
#include "oci/digest.h"
#include "util/io.h"
#include "util/sha256.h"

namespace bonsai::archive {

struct LayerDigests {
  oci::Digest digest;   // sha256 of the blob (compressed) bytes
  uint64_t size = 0;    // blob bytes
  oci::Digest diff_id;  // sha256 of the uncompressed tar
  uint64_t uncompressed_size = 0;
  Compression compression = Compression::kNone;
};

struct LayerWriterOptions {
  Compression compression = Compression::kGzip;
  CompressOptions compress;
};

// A util::Writer taking the layer's tar bytes (usually through a TarWriter on top of it), which
// hashes them, compresses them and forwards the compressed bytes, hashed too, to dest.
//
//   auto layer = TRY(LayerWriter::create(blob_file));
//   TarWriter tar(*layer, {.clamp_mtime = epoch});
//   ... tar.add(...) / tar.write_body(...) ..., tar.finish();
//   LayerDigests d = TRY(layer->finish());
//
// Thread safety: one thread at a time (compression runs on internal threads).
class LayerWriter final : public util::Writer {
 public:
  // dest must outlive the LayerWriter.
  static Result<std::unique_ptr<LayerWriter>> create(util::Writer& dest,
                                                     LayerWriterOptions options = {});
  ~LayerWriter() override;

  Status write(std::string_view tar_bytes) override;
  // Ends the compressed stream, closes dest and returns both digests and sizes.
  // REQUIRES: called once; no write() afterwards.
  Result<LayerDigests> finish();
  // finish(), keeping the digests for digests().
  Status close() override;
  // REQUIRES: close() or finish() succeeded.
  const LayerDigests& digests() const { return digests_; }

 private:
  LayerWriter(util::Writer& dest, Compression c);

  util::HashingWriter blob_;  // counts and hashes what reaches dest
  std::unique_ptr<util::Writer> compressor_;
  util::Sha256 diff_hash_;
  uint64_t uncompressed_ = 0;
  LayerDigests digests_;
};

// A util::Reader of the uncompressed tar inside a layer blob: detects the compression from the
// first bytes, decompresses under DecompressLimits, and hashes both the blob and the tar.
//
//   auto layer = TRY(LayerReader::open(blob_reader));
//   TarReader tar(*layer);  ... read entries ...
//   TRY(layer->verify(expected_diff_id));  // drains the rest, then compares
class LayerReader final : public util::Reader {
 public:
  // blob must outlive the LayerReader. Fails with kUnsupported for xz/bzip2/... blobs.
  static Result<std::unique_ptr<LayerReader>> open(util::Reader& blob,
                                                   DecompressLimits limits = {});
  ~LayerReader() override;

  Result<size_t> read(std::span<char> buf) override;
  Compression compression() const;
  // Reads what is left of the stream (a tar reader stops at the end-of-archive block, but the
  // diff-id covers every byte), then returns the digests. REQUIRES: called once.
  Result<LayerDigests> finish();
  // finish(), then kCorrupt unless the diff-id (and, when not empty, the blob digest) match.
  Result<LayerDigests> verify(const oci::Digest& diff_id, const oci::Digest& digest = {});

 private:
  explicit LayerReader(util::Reader& blob);

  util::HashingReader blob_;
  std::unique_ptr<AutoDecompressReader> tar_;
  util::Sha256 diff_hash_;
  uint64_t uncompressed_ = 0;
};

}  // namespace bonsai::archive
