#include "archive/layer_writer.h"

#include <vector>

namespace bonsai::archive {

using util::ErrorKind;
using util::fail;

LayerWriter::LayerWriter(util::Writer& dest, Compression c) : blob_(&dest) {
  digests_.compression = c;
}

LayerWriter::~LayerWriter() = default;

Result<std::unique_ptr<LayerWriter>> LayerWriter::create(util::Writer& dest,
                                                         LayerWriterOptions options) {
  std::unique_ptr<LayerWriter> w(new LayerWriter(dest, options.compression));
  w->compressor_ = TRY(compressing_writer(options.compression, w->blob_, options.compress));
  return w;
}

Status LayerWriter::write(std::string_view tar_bytes) {
  diff_hash_.update(tar_bytes);
  uncompressed_ += tar_bytes.size();
  return compressor_->write(tar_bytes);
}

Result<LayerDigests> LayerWriter::finish() {
  TRY_CTX(compressor_->close(), "layer");
  digests_.digest = oci::Digest::sha256_hex(blob_.finish_hex());
  digests_.size = blob_.count();
  digests_.diff_id = oci::Digest::sha256_hex(diff_hash_.finish_hex());
  digests_.uncompressed_size = uncompressed_;
  return digests_;
}

Status LayerWriter::close() {
  TRY(finish());
  return {};
}

LayerReader::LayerReader(util::Reader& blob) : blob_(blob) {}
LayerReader::~LayerReader() = default;

Result<std::unique_ptr<LayerReader>> LayerReader::open(util::Reader& blob,
                                                       DecompressLimits limits) {
  std::unique_ptr<LayerReader> r(new LayerReader(blob));
  r->tar_ = TRY(AutoDecompressReader::open(r->blob_, limits));
  return r;
}

Compression LayerReader::compression() const { return tar_->compression(); }

Result<size_t> LayerReader::read(std::span<char> buf) {
  size_t n = TRY_CTX(tar_->read(buf), "layer");
  diff_hash_.update(std::string_view(buf.data(), n));
  uncompressed_ += n;
  return n;
}

Result<LayerDigests> LayerReader::finish() {
  std::vector<char> buf(256 << 10);
  while (TRY(read(buf)) > 0) {
  }
  LayerDigests d;
  d.compression = compression();
  d.digest = oci::Digest::sha256_hex(blob_.finish_hex());
  d.size = blob_.count();
  d.diff_id = oci::Digest::sha256_hex(diff_hash_.finish_hex());
  d.uncompressed_size = uncompressed_;
  return d;
}

Result<LayerDigests> LayerReader::verify(const oci::Digest& diff_id, const oci::Digest& digest) {
  LayerDigests d = TRY(finish());
  if (!digest.empty() && d.digest != digest)
    return fail(ErrorKind::kCorrupt,
                "layer blob digest is " + d.digest.str() + ", expected " + digest.str());
  if (d.diff_id != diff_id)
    return fail(ErrorKind::kCorrupt,
                "layer diff-id is " + d.diff_id.str() + ", expected " + diff_id.str());
  return d;
}

}  // namespace bonsai::archive
