#include "sys/overlay_mount.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sys/root_fs.h"

namespace bonsai::sys {
namespace {

namespace fs = std::filesystem;

class OverlayMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (overlayfs)";
    std::string tmpl = (fs::temp_directory_path() / "overlay-mount-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    for (auto d : {"low1", "low2", "upper", "work"}) fs::create_directory(dir_ + "/" + d);
  }
  void TearDown() override {
    if (!dir_.empty()) (void)remove_all(dir_);
  }
  void put(const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(dir_ + "/" + rel).parent_path());
    std::ofstream(dir_ + "/" + rel) << data;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST_F(OverlayMountTest, WritesLandInUpperAndTopLayerWins) {
  put("low1/etc/passwd", "top\n");
  put("low2/etc/passwd", "bottom\n");
  put("low2/etc/group", "g\n");
  auto m = mount_overlay({dir_ + "/low1", dir_ + "/low2"}, dir_ + "/upper", dir_ + "/work");
  ASSERT_TRUE(m) << m.error().message();
  auto root = RootFs::open(m->path());
  ASSERT_TRUE(root) << root.error().message();
  auto r = (*root)->open_read("etc/passwd");
  ASSERT_TRUE(r);
  EXPECT_EQ(*util::read_all(**r, 100), "top\n");
  auto w = (*root)->create_file("etc/new", 0644);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write("x"));
  ASSERT_TRUE((*w)->close());
  ASSERT_TRUE((*root)->remove("etc/group"));
  EXPECT_EQ(slurp(dir_ + "/upper/etc/new"), "x");
  struct stat st;
  ASSERT_EQ(::lstat((dir_ + "/upper/etc/group").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "a deletion is a whiteout in the upper dir";
  // Nothing was mounted on the host: the lower and upper dirs are plain directories.
  EXPECT_FALSE(fs::exists(dir_ + "/low1/etc/new"));
}

TEST_F(OverlayMountTest, ReadOnlyWithOneLower) {
  put("low1/a", "1");
  auto m = mount_overlay({dir_ + "/low1"});
  ASSERT_TRUE(m) << m.error().message();
  auto root = RootFs::open(m->path());
  ASSERT_TRUE(root);
  EXPECT_FALSE((*root)->create_file("b", 0644)) << "read-only overlay accepted a write";
  auto info = (*root)->lstat("a");
  ASSERT_TRUE(info && *info);
}

TEST_F(OverlayMountTest, MissingLowerIsAnErrorNamingIt) {
  auto m = mount_overlay({dir_ + "/nope"}, dir_ + "/upper", dir_ + "/work");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("nope"), std::string::npos) << m.error().message();
}

TEST_F(OverlayMountTest, TmpfsHoldsAnUpperAndFullIsEnospc) {
  if (!overlay_takes_detached_upper()) GTEST_SKIP() << "kernel refuses a detached upper dir";
  put("low1/etc/group", "g\n");
  auto tmpfs = mount_tmpfs(64 << 10);
  ASSERT_TRUE(tmpfs) << tmpfs.error().message();
  std::string upper = tmpfs->path() + "/upper", work = tmpfs->path() + "/work";
  ASSERT_EQ(::mkdir(upper.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(work.c_str(), 0755), 0);
  auto m = mount_overlay({dir_ + "/low1"}, upper, work);
  ASSERT_TRUE(m) << m.error().message();
  auto root = RootFs::open(m->path());
  ASSERT_TRUE(root);
  ASSERT_TRUE((*root)->remove("etc/group"));
  struct stat st;
  ASSERT_EQ(::lstat((upper + "/etc/group").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "a deletion is a whiteout in the tmpfs upper dir";
  EXPECT_TRUE(fs::exists(dir_ + "/low1/etc/group")) << "the lower dir is untouched";
  // Past its size the tmpfs says ENOSPC, which is what sends a step back to disk.
  auto w = (*root)->create_file("big", 0644);
  ASSERT_TRUE(w);
  std::string chunk(16 << 10, 'x');
  util::Status st_write;
  for (int i = 0; i < 16 && st_write; ++i) st_write = (*w)->write(chunk);
  if (st_write) st_write = (*w)->close();
  ASSERT_FALSE(st_write) << "128 KiB fit in a 64 KiB tmpfs";
  EXPECT_EQ(st_write.error().sys_errno(), ENOSPC) << st_write.error().message();
}

}  // namespace
}  // namespace bonsai::sys
