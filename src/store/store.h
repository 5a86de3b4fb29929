// The content store: an OCI image layout on disk (see docs/store.md).
//
//   $ROOT/oci-layout            {"imageLayoutVersion":"1.0.0"}
//   $ROOT/index.json            one descriptor per image; tags in org.opencontainers.image.ref.name
//   $ROOT/blobs/sha256/<hex>    content, immutable, named by digest
//   $ROOT/ingest/               partial writes, each held under an flock by its writer
//   $ROOT/locks/                index.lock (index updates), gc.lock (shared: writers; excl: prune)
//   $ROOT/bonsai.db             SQLite: derived metadata (layer content sizes, later build cache)
//
// Invariants: a file under blobs/ always holds exactly the bytes its name is the digest of (it is
// written under ingest/, verified, fsynced, then renamed); index.json is only ever replaced
// atomically while index.lock is held, after an fsync of blobs/sha256 that makes the names of the
// blobs committed before it durable; nothing in index.json refers to a missing blob. So a
// process killed at any moment leaves at worst an orphaned ingest file (removed by the next
// writer or `bonsai fsck`) or an unreferenced blob (removed by `bonsai prune`).
//
// Thread safety: a Store may be used from one thread; several processes may share one root.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "oci/digest.h"
#include "oci/image.h"
#include "sys/fd.h"
#include "util/big_buffer.h"
#include "util/io.h"
#include "util/sha256.h"

namespace bonsai::store {

using util::Result;
using util::Status;

// An flock(2) held until destruction.
class FileLock {
 public:
  FileLock() = default;
  explicit FileLock(sys::UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  sys::UniqueFd fd_;
};

// Writes one blob. Bytes go to an ingest file; commit() verifies and publishes it. Destroying an
// uncommitted writer removes the ingest file.
class BlobWriter final : public util::Writer {
 public:
  ~BlobWriter() override;
  Status write(std::string_view data) override;
  // Verifies the digest (and size when given), fsyncs and renames into blobs/ (the directory is
  // fsynced by the next index update, which is what makes a blob reachable). Returns the
  // descriptor digest and size. If the blob already exists the ingest file is dropped.
  Result<std::pair<oci::Digest, int64_t>> commit(const std::optional<oci::Digest>& expected = {},
                                                 std::optional<int64_t> expected_size = {});

 private:
  friend class Store;
  BlobWriter(std::string root, std::string path, sys::UniqueFd fd);
  std::string root_, path_;
  sys::UniqueFd fd_;
  util::HashingWriter hasher_{nullptr};
  util::BigBuffer buf_;  // huge pages past 256 KiB: a large layer does not fault per 4 KiB
  uint64_t written_ = 0, flushed_ = 0;
  bool done_ = false;
};

class Store {
 public:
  // Opens the store at root, creating the layout if absent. Fails if root holds something that
  // is not an OCI image layout.
  static Result<std::unique_ptr<Store>> open(const std::string& root);

  const std::string& root() const { return root_; }
  std::string blob_path(const oci::Digest& d) const;
  bool has_blob(const oci::Digest& d) const;

  // Reads a whole (small) blob and verifies its digest.
  Result<std::string> read_blob(const oci::Digest& d, size_t max_bytes = 16 << 20) const;
  Result<sys::UniqueFd> open_blob(const oci::Digest& d) const;
  Result<std::unique_ptr<BlobWriter>> begin_blob();
  Result<oci::Digest> put_blob(std::string_view bytes);

  // index.json as last written. Never fails for a missing file (an empty index). The document
  // last parsed is kept: reading an unchanged index.json again costs an open and an fstat.
  Result<oci::Index> read_index() const;
  // Runs `change` on the current index under index.lock and writes the result atomically.
  Status update_index(const std::function<Status(oci::Index&)>& change);

  // gc.lock: writers hold it shared from their first new blob until the index refers to it;
  // prune holds it exclusively, so it never deletes a blob that is about to be referenced.
  Result<FileLock> lock_gc_shared();
  Result<FileLock> lock_gc_exclusive();

  // Removes ingest files whose writers have died (their flock is free). Returns the count.
  Result<int> clean_stale_ingests();

 private:
  explicit Store(std::string root) : root_(std::move(root)) {}
  Result<FileLock> lock(const std::string& name, int op);
  std::string root_;

  // The index.json last parsed, with its file held open. index.json is only ever replaced by a
  // rename, and an inode cannot be reused while a file on it is open, so while the path names
  // the same inode (with the same size and times, in case someone edited it in place) it still
  // holds this document. A build resolves images several times; with a few hundred images in
  // the store each parse took 1.5 ms.
  struct CachedIndex {
    sys::UniqueFd fd;
    struct stat st {};
    oci::Index index;
  };
  mutable std::optional<CachedIndex> index_cache_;
};

}  // namespace bonsai::store
