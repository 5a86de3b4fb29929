// Committing a filesystem change as a layer: the last stage of a RUN (or COPY) step, where the
// overlay's upper directory becomes a compressed layer blob in the store.
//
//   upper dir --overlay_diff--> sorted entries --TarWriter--> LayerWriter (gzip, both digests)
//             --> BlobWriter (ingest, verify, rename) --> store; layer facts --> metadata DB
//
// One pass over the data; nothing is held in memory but the compressor's shards.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "archive/compress.h"
#include "oci/image.h"
#include "store/images.h"

namespace bonsai::build {

struct CommitOptions {
  archive::Compression compression = archive::Compression::kGzip;
  std::optional<int64_t> clamp_mtime;  // SOURCE_DATE_EPOCH
  std::set<std::string> exclude;       // layer paths left out (with everything below them)
};

struct CommittedLayer {
  oci::Descriptor descriptor;  // media type, blob digest and size, ready for a manifest
  oci::Digest diff_id;
  store::LayerInfo info;  // content size as Docker counts it, tar size, entries
  // True when the upper dir held no change: Docker then records the step with empty_layer
  // rather than adding a layer.
  bool empty = false;
};

// Writes the change in `upper_dir` (an overlayfs upper directory: whiteouts as 0:0 character
// devices, opaque directories marked with trusted.overlay.opaque) as one layer blob in the store
// and records its facts in the metadata database. On failure nothing is published.
util::Result<CommittedLayer> commit_upper_dir(store::Images& images, const std::string& upper_dir,
                                              const CommitOptions& options = {});

}  // namespace bonsai::build
