#include "build/layer_commit.h"

#include <map>

#include "archive/layer_writer.h"
#include "archive/tar.h"
#include "sys/overlay_diff.h"

namespace bonsai::build {

namespace {

archive::EntryType entry_type(sys::DiffEntryKind kind) {
  switch (kind) {
    case sys::DiffEntryKind::kDirectory:
      return archive::EntryType::kDirectory;
    case sys::DiffEntryKind::kSymlink:
      return archive::EntryType::kSymlink;
    case sys::DiffEntryKind::kHardLink:
      return archive::EntryType::kHardLink;
    case sys::DiffEntryKind::kCharDevice:
      return archive::EntryType::kCharDevice;
    case sys::DiffEntryKind::kBlockDevice:
      return archive::EntryType::kBlockDevice;
    case sys::DiffEntryKind::kFifo:
      return archive::EntryType::kFifo;
    case sys::DiffEntryKind::kRegular:
    case sys::DiffEntryKind::kWhiteout:
    case sys::DiffEntryKind::kOpaque:
      return archive::EntryType::kFile;
  }
  return archive::EntryType::kFile;
}

// One diff entry as a tar entry: whiteouts and opaque markers are empty regular files, as the
// OCI image spec writes them.
archive::TarEntry to_tar_entry(const sys::DiffEntry& d) {
  archive::TarEntry e;
  e.path = d.path;
  e.type = entry_type(d.kind);
  bool marker = d.kind == sys::DiffEntryKind::kWhiteout || d.kind == sys::DiffEntryKind::kOpaque;
  e.mode = marker ? 0 : d.info.mode;
  e.uid = marker ? 0 : d.info.uid;
  e.gid = marker ? 0 : d.info.gid;
  e.size = d.kind == sys::DiffEntryKind::kRegular ? d.info.size : 0;
  e.mtime_sec = d.info.mtime_sec;
  e.mtime_nsec = d.info.mtime_nsec;
  e.link_target = d.link_target;
  e.dev_major = d.info.rdev_major;
  e.dev_minor = d.info.rdev_minor;
  e.xattrs = d.xattrs;
  return e;
}

// Docker's content size, counted as entries stream past (see store/layer_scan.h).
class SizeCounter {
 public:
  void add(const sys::DiffEntry& d) {
    ++entries_;
    if (d.kind == sys::DiffEntryKind::kRegular) sizes_[d.path] = d.info.size;
    if (d.kind == sys::DiffEntryKind::kSymlink) sizes_[d.path] = d.link_target.size();
  }
  uint64_t entries() const { return entries_; }
  uint64_t content_size() const {
    uint64_t total = 0;
    for (auto& [_, s] : sizes_) total += s;
    return total;
  }

 private:
  std::map<std::string, uint64_t> sizes_;
  uint64_t entries_ = 0;
};

}  // namespace

util::Result<CommittedLayer> commit_upper_dir(store::Images& images, const std::string& upper_dir,
                                              const CommitOptions& options) {
  // 1. Open the blob and the pipeline in front of it: tar -> compress + both digests -> blob.
  store::FileLock gc = TRY(images.store().lock_gc_shared());
  auto blob = TRY(images.store().begin_blob());
  archive::LayerWriterOptions lw;
  lw.compression = options.compression;
  auto layer = TRY(archive::LayerWriter::create(*blob, lw));
  archive::TarWriter tar(*layer, {.clamp_mtime = options.clamp_mtime});

  // 2. Stream the diff through it, body by body.
  SizeCounter counter;
  sys::DiffOptions diff;
  diff.exclude = options.exclude;
  diff.clamp_mtime = options.clamp_mtime;
  TRY_CTX(sys::diff_overlay_upper(
              upper_dir, diff,
              [&](const sys::DiffEntry& d, util::Reader* body) -> util::Status {
                counter.add(d);
                archive::TarEntry e = to_tar_entry(d);
                TRY(tar.add(e));
                if (e.type != archive::EntryType::kFile || e.size == 0) return {};
                if (!body) return util::fail(util::ErrorKind::kInternal, d.path + ": no body");
                char buf[256 * 1024];
                uint64_t left = e.size;
                while (left > 0) {
                  size_t n =
                      TRY(body->read(std::span<char>(buf, std::min<uint64_t>(left, sizeof buf))));
                  if (n == 0)
                    return util::fail(util::ErrorKind::kIo, d.path + ": changed while being read");
                  TRY(tar.write_body(std::string_view(buf, n)));
                  left -= n;
                }
                return {};
              }),
          "commit " + upper_dir);
  TRY(tar.finish());
  archive::LayerDigests digests = TRY(layer->finish());

  // 3. Publish the blob (its digest is checked again on the way in) and remember its facts.
  auto [digest, size] = TRY(blob->commit(digests.digest, static_cast<int64_t>(digests.size)));
  CommittedLayer out;
  out.descriptor.media_type =
      std::string(options.compression == archive::Compression::kZstd   ? oci::media::kOciLayerZstd
                  : options.compression == archive::Compression::kGzip ? oci::media::kOciLayerGzip
                                                                       : oci::media::kOciLayer);
  out.descriptor.digest = digest;
  out.descriptor.size = size;
  out.diff_id = digests.diff_id;
  out.info = {counter.content_size(), digests.uncompressed_size, counter.entries()};
  out.empty = counter.entries() == 0;
  TRY(images.metadata().put_layer_info(out.diff_id, out.info));
  TRY(images.metadata().put_verified_diff_id(digest, out.diff_id));
  return out;
}

}  // namespace bonsai::build
