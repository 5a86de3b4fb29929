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

}  // namespace
}  // namespace bonsai::sys
