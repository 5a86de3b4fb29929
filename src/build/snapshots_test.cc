// Snapshots on the real kernel: layers unpacked in overlayfs lower-dir form must give the image's
// view when mounted as a read-only overlay, and are unpacked only once. Needs root.
#include "build/snapshots.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "store/test_util.h"

namespace bonsai::build {
namespace {

using archive::EntryType;
using store::testing::list_dir;
using store::testing::Member;
using store::testing::slurp;
using store::testing::tar_of;
using store::testing::TempDir;

class SnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod, trusted.* xattrs, mount)";
    auto images = store::Images::open(tmp_.file("store"));
    ASSERT_TRUE(images) << images.error().message();
    images_ = std::move(*images);
  }

  // Adds a layer blob (gzip-compressed when asked) and records it in image_.
  void add_layer(const std::string& tar, bool compress) {
    std::string blob = compress ? store::testing::gzip(tar) : tar;
    auto digest = images_->store().put_blob(blob);
    ASSERT_TRUE(digest) << digest.error().message();
    image_.manifest.layers.push_back({std::string(oci::media::kOciLayer),
                                      *digest,
                                      static_cast<int64_t>(blob.size()),
                                      {},
                                      {},
                                      {}});
    image_.config.diff_ids.push_back(oci::Digest::of(tar));
  }

  // Layer 1 has a/keep, a/gone and o/old; layer 2 whites out a/gone, makes o opaque, adds o/new.
  void add_two_layers() {
    add_layer(tar_of({{"a", "", EntryType::kDirectory},
                      {"a/keep", "k"},
                      {"a/gone", "g"},
                      {"o", "", EntryType::kDirectory},
                      {"o/old", "old"}}),
              true);
    add_layer(tar_of({{"a/.wh.gone", ""},
                      {"o", "", EntryType::kDirectory},
                      {"o/.wh..wh..opq", ""},
                      {"o/new", "new"}}),
              false);
  }

  TempDir tmp_;
  std::unique_ptr<store::Images> images_;
  store::Image image_;
};

ino_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST_F(SnapshotsTest, LowerDirsMountAsTheImageView) {
  add_two_layers();
  Snapshots snapshots(images_->store().root());
  auto dirs = snapshots.lower_dirs(*images_, image_);
  ASSERT_TRUE(dirs) << dirs.error().message();
  ASSERT_EQ(dirs->size(), 2u);
  EXPECT_EQ((*dirs)[0], snapshots.path_of(image_.config.diff_ids[1]));
  EXPECT_EQ((*dirs)[1], snapshots.path_of(image_.config.diff_ids[0]));

  // The top layer in lower-dir form.
  struct stat st {};
  ASSERT_EQ(::lstat(((*dirs)[0] + "/a/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char value[8] = {};
  EXPECT_EQ(::lgetxattr(((*dirs)[0] + "/o").c_str(), "trusted.overlay.opaque", value, 8), 1);
  EXPECT_EQ(std::string(value), "y");
  EXPECT_EQ(list_dir((*dirs)[0] + "/a"), std::vector<std::string>{"gone"});

  // The merged view.
  std::string mnt = tmp_.file("mnt");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  std::string opts = "lowerdir=" + (*dirs)[0] + ":" + (*dirs)[1];
  ASSERT_EQ(::mount("overlay", mnt.c_str(), "overlay", MS_RDONLY, opts.c_str()), 0)
      << std::strerror(errno);
  EXPECT_EQ(list_dir(mnt), (std::vector<std::string>{"a", "o"}));
  EXPECT_EQ(list_dir(mnt + "/a"), std::vector<std::string>{"keep"});
  EXPECT_EQ(list_dir(mnt + "/o"), std::vector<std::string>{"new"});
  EXPECT_EQ(slurp(mnt + "/a/keep"), "k");
  EXPECT_EQ(slurp(mnt + "/o/new"), "new");
  ASSERT_EQ(::umount(mnt.c_str()), 0) << std::strerror(errno);
}

TEST_F(SnapshotsTest, LayersAreUnpackedOnceAndShared) {
  add_two_layers();
  Snapshots snapshots(images_->store().root());
  auto first = snapshots.lower_dirs(*images_, image_);
  ASSERT_TRUE(first) << first.error().message();
  ino_t top = inode_of((*first)[0]), bottom = inode_of((*first)[1]);
  ino_t file = inode_of((*first)[1] + "/a/keep");

  // With the blobs gone, only reuse can succeed: nothing is unpacked a second time.
  for (const oci::Descriptor& layer : image_.manifest.layers)
    ASSERT_EQ(::unlink(images_->store().blob_path(layer.digest).c_str()), 0);

  // A second Snapshots (another process, say) and an image sharing only the bottom layer.
  Snapshots again(images_->store().root());
  auto second = again.lower_dirs(*images_, image_);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(inode_of((*second)[0]), top);
  EXPECT_EQ(inode_of((*second)[1]), bottom);
  EXPECT_EQ(inode_of((*second)[1] + "/a/keep"), file);

  store::Image base = image_;
  base.manifest.layers.resize(1);
  base.config.diff_ids.resize(1);
  auto shared = again.lower_dirs(*images_, base);
  ASSERT_TRUE(shared) << shared.error().message();
  EXPECT_EQ(*shared, std::vector<std::string>{(*first)[1]});
  EXPECT_EQ(inode_of((*shared)[0]), bottom);

  // Only the two snapshots; no temporary directories left behind.
  EXPECT_EQ(list_dir(images_->store().root() + "/snapshots").size(), 2u);
}

TEST_F(SnapshotsTest, WrongDiffIdIsCorruptAndLeavesNothing) {
  add_layer(tar_of({{"f", "x"}}), true);
  image_.config.diff_ids[0] = oci::Digest::of("something else");
  Snapshots snapshots(images_->store().root());
  auto dirs = snapshots.lower_dirs(*images_, image_);
  ASSERT_FALSE(dirs);
  EXPECT_EQ(dirs.error().kind(), util::ErrorKind::kCorrupt) << dirs.error().message();
  EXPECT_EQ(list_dir(images_->store().root() + "/snapshots"), std::vector<std::string>{});
}

TEST_F(SnapshotsTest, LayerAndDiffIdCountsMustMatch) {
  add_layer(tar_of({{"f", "x"}}), false);
  image_.config.diff_ids.clear();
  auto dirs = Snapshots(images_->store().root()).lower_dirs(*images_, image_);
  ASSERT_FALSE(dirs);
  EXPECT_EQ(dirs.error().kind(), util::ErrorKind::kCorrupt);
}

}  // namespace
}  // namespace bonsai::build

namespace bonsai::build {
namespace {

TEST_F(SnapshotsTest, PruneKeepsOnlyLayersOfStoredImagesAndRemovesTemporaries) {
  add_two_layers();
  Snapshots snapshots(images_->store().root());
  ASSERT_TRUE(snapshots.lower_dirs(*images_, image_));  // unpacked, but no image names them
  auto tmp = snapshots.make_temp();
  ASSERT_TRUE(tmp);
  auto removed = snapshots.prune(*images_);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(*removed, 3) << "two unreferenced layers and one tmp- dir";
  EXPECT_EQ(list_dir(images_->store().root() + "/snapshots"), std::vector<std::string>{});
}

}  // namespace
}  // namespace bonsai::build
