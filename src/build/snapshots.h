// Unpacked layers for RUN: each layer of an image unpacked once, in overlayfs lower-dir form, and
// shared by every build step and image whose chain contains it.
//
//   $ROOT/snapshots/<diff-id hex>/   one layer's tree: whiteouts as 0:0 character devices,
//                                    opaque directories marked trusted.overlay.opaque=y
//   $ROOT/snapshots/tmp-<random>/    a snapshot being unpacked
//
// A snapshot is keyed by the diff-id (the digest of the uncompressed tar), which is verified
// while unpacking, so the same layer compressed two ways shares one snapshot. Publication is
// write-temp -> syncfs -> rename: a directory under its final name is always complete and is
// never changed again. Two processes unpacking the same layer both unpack; the first rename wins
// and the loser removes its copy. A process killed mid-unpack leaves a tmp- directory behind.
//
// Thread safety: one Snapshots per thread; several processes may share a root.
#pragma once

#include <string>
#include <vector>

#include "oci/digest.h"
#include "oci/image.h"
#include "store/images.h"

namespace bonsai::build {

class Snapshots {
 public:
  // root is the store root; snapshots live in root/snapshots, created on first use.
  explicit Snapshots(std::string root) : dir_(std::move(root) + "/snapshots") {}

  // The directories to give a RUN overlay as lower dirs, top layer first: one per layer of
  // image, each unpacked on first use and reused afterwards. On failure nothing partial is left
  // under a final name. REQUIRES: CAP_MKNOD and CAP_SYS_ADMIN (whiteout devices, trusted.*
  // xattrs, layer owners).
  util::Result<std::vector<std::string>> lower_dirs(store::Images& images,
                                                    const store::Image& image);

  // The snapshot of one layer (blob `layer`, uncompressed digest `diff_id`), unpacked now if
  // absent. A blob whose uncompressed digest is not diff_id is a kCorrupt error.
  util::Result<std::string> ensure(store::Images& images, const oci::Descriptor& layer,
                                   const oci::Digest& diff_id);

  // Where the snapshot of diff_id lives (whether or not it exists yet).
  std::string path_of(const oci::Digest& diff_id) const;

  // A new private directory under the snapshots directory (same filesystem, so a finished
  // overlay upper dir can be adopted by rename): "tmp-<random>".
  util::Result<std::string> make_temp();
  // An empty directory, the lower dir of an overlay over no layer (FROM scratch).
  util::Result<std::string> empty_dir();
  // Publishes dir, an overlay upper dir whose layer was committed with this diff-id, as that
  // layer's snapshot, so the next step need not unpack it. If the snapshot exists already, dir
  // is removed instead. dir must have been written in overlay upper form with nothing left out
  // of the layer.
  util::Status adopt(const oci::Digest& diff_id, const std::string& dir);

  // Removes every snapshot whose layer no image in the store has, and every tmp- directory
  // (left by a killed build or unpack). Holds the store's exclusive GC lock meanwhile, which
  // waits for running builds (they hold it shared), so nothing in use is removed. Returns how
  // many directories went.
  util::Result<int> prune(store::Images& images);

 private:
  // Unpacks the layer into the empty directory dir and checks its diff-id.
  util::Status unpack(store::Images& images, const oci::Descriptor& layer,
                      const oci::Digest& diff_id, const std::string& dir);

  std::string dir_;
};

}  // namespace bonsai::build
