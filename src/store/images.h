// Images in the store: the view `bonsai images`, `inspect`, `tag`, `rmi`, `prune` and `fsck` work
// on. An image is a manifest named in index.json; its tags are the index entries' ref-name
// annotations (one entry per tag, all pointing at the same manifest). An entry without a ref
// name is a dangling image, shown as <none>:<none> as Docker does. The IMAGE ID is the digest
// of the image config, so it equals Docker's for the same image.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "oci/image.h"
#include "store/metadata.h"
#include "store/reference.h"
#include "store/store.h"

namespace bonsai::store {

struct Image {
  std::vector<std::string> tags;  // "golang:bookworm", sorted; empty for a dangling image
  oci::Descriptor manifest_desc;  // as named in index.json
  oci::Manifest manifest;
  oci::Digest id;  // config digest
  oci::ImageConfig config;
  std::string config_bytes;
};

struct PruneReport {
  int images_removed = 0;
  int blobs_removed = 0;
  uint64_t bytes_freed = 0;
};

struct FsckReport {
  int blobs_checked = 0;
  int stale_ingests_removed = 0;
  std::vector<std::string> problems;  // empty when the store is clean
};

class Images {
 public:
  // Opens the store and its metadata database at root.
  static Result<std::unique_ptr<Images>> open(const std::string& root);

  Store& store() { return *store_; }
  MetadataDb& metadata() { return *meta_; }

  // Every image, newest first (by config "created"), as `docker images` orders them.
  Result<std::vector<Image>> list();
  // By tag ("golang:bookworm", "golang" = golang:latest), full or short image ID, or manifest
  // digest. Not found is ErrorKind::kNotFound with Docker's wording.
  Result<Image> resolve(std::string_view name);
  Result<Image> load_image(const oci::Descriptor& manifest_desc);

  // What reading a layer tells (content size, entries), from the database or by reading the
  // blob once and remembering. Verifies the diff-id when it computes it.
  Result<LayerInfo> layer_info(const oci::Descriptor& layer, const oci::Digest& diff_id);
  // Docker's SIZE: the sum of the layers' content sizes.
  Result<uint64_t> image_size(const Image& image);

  // Registers a manifest already in the store under the given tags, moving each tag from any
  // image that held it (which stays as a dangling image if nothing else refers to it). With no
  // tags, adds it as a dangling image unless already present.
  Status add(const oci::Descriptor& manifest_desc, const std::vector<Reference>& tags);
  // Writes an OCI config and manifest for `config` over `layers` (which must already be in the
  // store) and registers it under `tags` as add() does. Returns the manifest's descriptor; the
  // image ID is the config's digest (first element).
  Result<std::pair<oci::Digest, oci::Descriptor>> put_image(
      const oci::ImageConfig& config, const std::vector<oci::Descriptor>& layers,
      const std::vector<Reference>& tags);
  // Removes one tag. If it was the image's last tag, the image is removed too.
  Status untag(const Reference& ref);
  // Removes every index entry of an image (all its tags).
  Status remove_image(const oci::Digest& manifest_digest);

  // Removes dangling images and every blob not reachable from index.json.
  Result<PruneReport> prune();
  // Cleans dead ingests, then checks every document and blob: presence, size and digest.
  Result<FsckReport> fsck();

 private:
  Images(std::unique_ptr<Store> s, std::unique_ptr<MetadataDb> m)
      : store_(std::move(s)), meta_(std::move(m)) {}
  std::unique_ptr<Store> store_;
  std::unique_ptr<MetadataDb> meta_;
};

// Docker's human size: SI units, three significant digits ("957MB", "8.86MB", "512B").
std::string human_size(uint64_t bytes);

}  // namespace bonsai::store
