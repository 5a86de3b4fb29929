// Reading layer blobs as a whole: detecting compression, decompressing with bomb limits, and
// measuring what Docker measures. Used both while a blob is first ingested (so a load reads
// each layer once) and later for blobs whose facts are not yet in the metadata database.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "oci/digest.h"
#include "store/metadata.h"
#include "util/io.h"

namespace bonsai::store {

struct LayerScan {
  oci::Digest diff_id;  // sha256 of the uncompressed tar
  LayerInfo info;
};

// A reader of `in` with gzip or zstd compression removed (detected from the first bytes), or
// `in` itself when it is not compressed. Decompression limits stop bombs.
util::Result<std::unique_ptr<util::Reader>> decompressed(util::Reader& in);

// Reads a whole layer blob: its diff-id, and its content size as Docker's `docker images`
// counts it (the sum of regular file sizes and symlink target lengths, each path once, as it
// would be on disk after unpacking; hard links, directories and whiteouts add nothing).
util::Result<LayerScan> scan_layer(util::Reader& blob);

// As scan_layer, for a stream that may or may not be a layer (an archive member being stored).
// Returns nullopt when the first bytes are neither a tar header nor gzip/zstd, or when the
// stream does not read as a layer; either way the whole of `in` has been read when it returns.
// For an uncompressed tar the diff-id is the digest of the raw bytes, which the caller computes
// anyway: it is left empty here rather than hashed twice.
util::Result<std::optional<LayerScan>> scan_if_layer(util::Reader& in);

}  // namespace bonsai::store
