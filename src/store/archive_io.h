// Image archives in and out of the store (formats described in docs/store.md):
//  - docker-archive, as `docker save` writes it: Docker 20.10's form (manifest.json,
//    <id>/layer.tar, <config>.json, symlinked duplicate layers) and the newer form that is also
//    an OCI layout (manifest.json beside index.json and blobs/sha256/).
//  - oci-archive: a tar of an OCI image layout.
// Import streams the archive once: every file becomes a verified blob as it is read, then the
// manifests are assembled and each layer's diff-id is checked against the config before any tag
// is written. A failure leaves the index untouched (unreferenced blobs go at the next prune).
#pragma once

#include <string>
#include <vector>

#include "store/images.h"

namespace bonsai::store {

struct LoadedImage {
  oci::Digest id;                 // config digest (IMAGE ID)
  std::vector<std::string> tags;  // empty for an untagged image
};

// Reads an archive (optionally gzip- or zstd-compressed) and adds its images to the store.
Result<std::vector<LoadedImage>> import_archive(Images& images, util::Reader& in);

enum class ArchiveFormat { kDocker, kOci };

struct ExportItem {
  Image image;
  std::vector<std::string> tags;  // names to record for it in the archive
};

// Writes the images as one archive. kDocker output is what Docker ≥ 25 writes (an OCI layout
// with manifest.json), which Docker 20.10's `docker load` also reads; kOci omits manifest.json.
// Entries are sorted with fixed metadata, so the same images give the same bytes.
Status export_archive(Images& images, const std::vector<ExportItem>& items, ArchiveFormat format,
                      util::Writer& out);

}  // namespace bonsai::store
