// Reading layer blobs as a whole: detecting compression, decompressing with bomb limits, and
// measuring what Docker measures.
#pragma once

#include <memory>

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

}  // namespace bonsai::store
