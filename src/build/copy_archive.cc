// ADD's archive extraction: a local tar archive (plain or compressed, recognised by content) is
// unpacked into the destination directory with the one tar reader and layer applier, through
// a TreeFs view rooted at that directory, so the archive's paths and ".." stop there.
//
// An archive is what Docker's ADD takes for one: a stream that, once decompressed (gzip, zstd,
// xz or bzip2), yields a tar header. Anything else (a plain file, a gzip of text, a zip) is
// copied as it is.
#include "archive/compress.h"
#include "archive/layer_apply.h"
#include "archive/tar.h"
#include "build/copy_internal.h"

namespace bonsai::build::copy_detail {

using util::ErrorKind;
using util::Result;
using util::Status;

namespace {

// The subtree of another TreeFs below the directory `dir` (a path of that tree with no symlink
// in it), seen as a tree of its own. Symlinks are still resolved by the underlying tree, so an
// absolute link target leads to the image root, never outside it.
class SubTreeFs final : public util::TreeFs {
 public:
  SubTreeFs(util::TreeFs& fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

  Result<std::optional<util::FileInfo>> lstat(std::string_view p) override {
    return fs_.lstat(at(p));
  }
  Result<std::vector<std::string>> list(std::string_view p) override { return fs_.list(at(p)); }
  Result<std::string> read_link(std::string_view p) override { return fs_.read_link(at(p)); }
  Result<std::unique_ptr<util::Reader>> open_read(std::string_view p) override {
    return fs_.open_read(at(p));
  }
  Status mkdir(std::string_view p, uint32_t mode) override { return fs_.mkdir(at(p), mode); }
  Result<std::unique_ptr<util::Writer>> create_file(std::string_view p, uint32_t mode) override {
    return fs_.create_file(at(p), mode);
  }
  Status symlink(std::string_view target, std::string_view p) override {
    return fs_.symlink(target, at(p));
  }
  Status link(std::string_view existing, std::string_view p) override {
    return fs_.link(at(existing), at(p));
  }
  Status mknod(std::string_view p, util::FileType type, uint32_t mode, uint32_t major,
               uint32_t minor) override {
    return fs_.mknod(at(p), type, mode, major, minor);
  }
  Status remove(std::string_view p) override {
    if (p.empty()) return util::fail(ErrorKind::kInvalidArgument, "cannot remove the root");
    return fs_.remove(at(p));
  }
  Status remove_all(std::string_view p) override {
    if (p.empty()) return util::fail(ErrorKind::kInvalidArgument, "cannot remove the root");
    return fs_.remove_all(at(p));
  }
  Status set_owner(std::string_view p, uint32_t uid, uint32_t gid) override {
    return fs_.set_owner(at(p), uid, gid);
  }
  Status set_mode(std::string_view p, uint32_t mode) override { return fs_.set_mode(at(p), mode); }
  Status set_mtime(std::string_view p, int64_t sec, uint32_t nsec) override {
    return fs_.set_mtime(at(p), sec, nsec);
  }
  Status set_xattr(std::string_view p, std::string_view name, std::string_view value) override {
    return fs_.set_xattr(at(p), name, value);
  }

 private:
  // An unclean path stays unclean (and is refused below) rather than being joined into one.
  std::string at(std::string_view p) const {
    if (!util::is_clean_tree_path(p)) return std::string(p) + "/.";
    return join_path(dir_, p);
  }

  util::TreeFs& fs_;
  std::string dir_;
};

}  // namespace

Result<bool> is_tar_archive(util::TreeFs& src, const std::string& path) {
  std::unique_ptr<util::Reader> in = TRY_CTX(src.open_read(path), "ADD /" + path);
  std::string head(8, '\0');
  head.resize(TRY_CTX(util::read_full(*in, head), "ADD /" + path));
  // lz4, zip: copied as they are, as Docker does.
  if (!archive::unsupported_compression(head).empty()) return false;
  util::PrefixReader replay(std::move(head), *in);
  auto stream =
      archive::AutoDecompressReader::open(replay, {}, archive::AcceptedCompressions::kAll);
  if (!stream) return false;
  archive::TarReader tar(**stream);
  auto first = tar.next();
  // A stream that does not decompress or does not start with a tar header is not an archive;
  // a failure to read the file itself is an error.
  if (!first) {
    if (first.error().kind() == ErrorKind::kIo) {
      return std::unexpected(std::move(first).error().context("ADD /" + path));
    }
    return false;
  }
  return first->has_value();
}

Status extract_archive(util::TreeFs& src, const std::string& path, util::TreeFs& dst,
                       const std::string& dest_dir) {
  std::string what = "ADD /" + path + ": extract to /" + dest_dir;
  std::unique_ptr<util::Reader> in = TRY_CTX(src.open_read(path), what);
  std::unique_ptr<archive::AutoDecompressReader> stream = TRY_CTX(
      archive::AutoDecompressReader::open(*in, {}, archive::AcceptedCompressions::kAll), what);
  archive::TarReader tar(*stream);
  SubTreeFs tree(dst, dest_dir);
  TRY_CTX(archive::apply_layer(tar, tree, {.preserve_owners = true}), what);
  return {};
}

}  // namespace bonsai::build::copy_detail
