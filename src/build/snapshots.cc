#include "build/snapshots.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>

#include "archive/compress.h"
#include "archive/layer_apply.h"
#include "archive/tar.h"
#include "sys/fd.h"
#include "sys/root_fs.h"
#include "util/sha256.h"

namespace bonsai::build {

using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

namespace {

// Removes a directory tree of ours, ignoring errors: used only to clean up after a failure or a
// lost race, where the first error is the one worth reporting.
void remove_tree(const std::string& dir) {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Flushes everything written under dir before it is published by rename.
Status sync_tree(const std::string& dir) {
  sys::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return util::sys_fail("open " + dir);
  if (::syncfs(fd.get()) != 0) return util::sys_fail("syncfs " + dir);
  return {};
}

}  // namespace

std::string Snapshots::path_of(const oci::Digest& diff_id) const {
  return dir_ + "/" + std::string(diff_id.hex());
}

Result<std::string> Snapshots::make_temp() {
  TRY(sys::mkdir_p(dir_, 0700));
  std::string tmp = dir_ + "/tmp-XXXXXX";
  if (!::mkdtemp(tmp.data())) return util::sys_fail("mkdtemp " + tmp);
  return tmp;
}

Result<std::string> Snapshots::empty_dir() {
  std::string dir = dir_ + "/empty";
  if (is_directory(dir)) return dir;
  TRY(sys::mkdir_p(dir, 0755));
  return dir;
}

Status Snapshots::adopt(const oci::Digest& diff_id, const std::string& dir) {
  std::string final_dir = path_of(diff_id);
  if (!is_directory(final_dir)) {
    TRY(sync_tree(dir));
    if (::rename(dir.c_str(), final_dir.c_str()) == 0) return {};
    int err = errno;
    if (!((err == EEXIST || err == ENOTEMPTY) && is_directory(final_dir)))
      return util::sys_fail("rename " + dir + " to " + final_dir, err);
  }
  remove_tree(dir);
  return {};
}

Result<int> Snapshots::prune(store::Images& images) {
  store::FileLock gc = TRY(images.store().lock_gc_exclusive());
  std::set<std::string> keep = {"empty"};
  for (const store::Image& image : TRY(images.list()))
    for (const oci::Digest& d : image.config.diff_ids) keep.insert(std::string(d.hex()));
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec), end;
  if (ec == std::errc::no_such_file_or_directory) return 0;
  if (ec) return util::sys_fail("list " + dir_, ec.value());
  int removed = 0;
  for (; it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (keep.count(name)) continue;
    remove_tree(it->path().string());
    ++removed;
  }
  return removed;
}

Result<std::vector<std::string>> Snapshots::lower_dirs(store::Images& images,
                                                       const store::Image& image) {
  const auto& layers = image.manifest.layers;
  const auto& diff_ids = image.config.diff_ids;
  if (layers.size() != diff_ids.size())
    return fail(ErrorKind::kCorrupt, "image " + image.id.str() + ": " +
                                         std::to_string(layers.size()) + " layers but " +
                                         std::to_string(diff_ids.size()) + " diff-ids");
  std::vector<std::string> dirs;
  for (size_t i = layers.size(); i-- > 0;)
    dirs.push_back(TRY(ensure(images, layers[i], diff_ids[i])));
  return dirs;
}

Result<std::string> Snapshots::ensure(store::Images& images, const oci::Descriptor& layer,
                                      const oci::Digest& diff_id) {
  std::string final_dir = path_of(diff_id);
  if (is_directory(final_dir)) return final_dir;

  // 1. Unpack into a private directory.
  std::string tmp = TRY(make_temp());
  Status unpacked = unpack(images, layer, diff_id, tmp);
  if (unpacked) unpacked = sync_tree(tmp);
  if (!unpacked) {
    remove_tree(tmp);
    return std::unexpected(
        std::move(unpacked).error().context("snapshot of layer " + diff_id.str()));
  }

  // 2. Publish it. A complete snapshot already there means another process won the race.
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    int err = errno;
    remove_tree(tmp);
    if ((err == EEXIST || err == ENOTEMPTY) && is_directory(final_dir)) return final_dir;
    return util::sys_fail("rename " + tmp + " to " + final_dir, err);
  }
  return final_dir;
}

Status Snapshots::unpack(store::Images& images, const oci::Descriptor& layer,
                         const oci::Digest& diff_id, const std::string& dir) {
  // The layer root is the merged root's metadata when this is the top layer.
  if (::chmod(dir.c_str(), 0755) != 0) return util::sys_fail("chmod " + dir);
  auto fs = TRY(sys::RootFs::open(dir));
  sys::UniqueFd blob = TRY(images.store().open_blob(layer.digest));
  sys::FdReader raw(blob.get(), images.store().blob_path(layer.digest));
  util::BufferedReader buffered(raw);
  auto plain = TRY(archive::AutoDecompressReader::open(buffered));
  util::HashingReader hashed(*plain);
  archive::TarReader tar(hashed);
  archive::ApplyOptions options;
  options.overlay_whiteouts = true;
  TRY(archive::apply_layer(tar, *fs, options));
  // Padding after the end-of-archive blocks is part of the diff-id too.
  util::CountingWriter discard(nullptr);
  TRY(util::copy(hashed, discard));
  std::string got = hashed.finish_hex();
  if (got != diff_id.hex())
    return fail(ErrorKind::kCorrupt, "blob " + layer.digest.str() + " unpacks to sha256:" + got +
                                         ", not the diff-id " + diff_id.str());
  return {};
}

}  // namespace bonsai::build
