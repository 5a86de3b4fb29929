#include "sys/overlay_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sys/fd.h"

namespace bonsai::sys {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

struct Seen {
  std::string path;
  DiffEntryKind kind;
  std::string body, link;
  util::FileInfo info;
  std::map<std::string, std::string> xattrs;
};

// Builds an upper directory by hand, in overlayfs' encoding (needs root for 0:0 devices and
// trusted.* xattrs).
class OverlayDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod, trusted.* xattrs)";
    std::string tmpl = (fs::temp_directory_path() / "overlay-diff-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    upper_ = tmpl;
  }
  void TearDown() override {
    if (!upper_.empty()) (void)remove_all(upper_);
  }
  void put(const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(upper_ + "/" + rel).parent_path());
    std::ofstream(upper_ + "/" + rel) << data;
  }
  std::vector<Seen> diff(const DiffOptions& options = {}) {
    std::vector<Seen> seen;
    auto st = diff_overlay_upper(upper_, options,
                                 [&](const DiffEntry& e, util::Reader* body) -> util::Status {
                                   Seen s{e.path, e.kind, "", e.link_target, e.info, e.xattrs};
                                   if (body) s.body = TRY(util::read_all(*body, 1 << 20));
                                   seen.push_back(std::move(s));
                                   return util::Status{};
                                 });
    EXPECT_TRUE(st) << st.error().message();
    return seen;
  }
  std::vector<std::string> paths(const DiffOptions& options = {}) {
    std::vector<std::string> out;
    for (const Seen& s : diff(options)) out.push_back(s.path);
    return out;
  }
  std::string upper_;
};

TEST_F(OverlayDiffTest, DeviceZeroZeroBecomesAWhiteoutEntry) {
  fs::create_directories(upper_ + "/etc");
  ASSERT_EQ(::mknod((upper_ + "/etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  auto seen = diff();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, "etc");
  EXPECT_EQ(seen[0].kind, DiffEntryKind::kDirectory);
  EXPECT_EQ(seen[1].path, "etc/.wh.gone");
  EXPECT_EQ(seen[1].kind, DiffEntryKind::kWhiteout);
}

TEST_F(OverlayDiffTest, OpaqueDirectoryGetsTheOpaqueMarkerAfterIt) {
  put("d/new", "n");
  ASSERT_EQ(::setxattr((upper_ + "/d").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  auto seen = diff();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].path, "d");
  EXPECT_TRUE(seen[0].xattrs.empty());  // overlayfs' own xattrs are not content
  EXPECT_EQ(seen[1].path, "d/.wh..wh..opq");
  EXPECT_EQ(seen[1].kind, DiffEntryKind::kOpaque);
  EXPECT_EQ(seen[2].path, "d/new");
}

TEST_F(OverlayDiffTest, EntriesComeInByteOrderWithContentsAndSymlinks) {
  put("b/file", "hello");
  put("a.txt", "a");
  fs::create_symlink("../a.txt", upper_ + "/b/link");
  auto seen = diff();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].path, "a.txt");
  EXPECT_EQ(seen[0].body, "a");
  EXPECT_EQ(seen[1].path, "b");
  EXPECT_EQ(seen[2].path, "b/file");
  EXPECT_EQ(seen[2].body, "hello");
  EXPECT_EQ(seen[2].info.size, 5u);
  EXPECT_EQ(seen[3].path, "b/link");
  EXPECT_EQ(seen[3].kind, DiffEntryKind::kSymlink);
  EXPECT_EQ(seen[3].link, "../a.txt");
}

TEST_F(OverlayDiffTest, SecondPathOfAnInodeIsAHardLinkToTheFirst) {
  put("z", "data");
  fs::create_hard_link(upper_ + "/z", upper_ + "/a");
  auto seen = diff();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, "a");
  EXPECT_EQ(seen[0].kind, DiffEntryKind::kRegular);
  EXPECT_EQ(seen[0].body, "data");
  EXPECT_EQ(seen[1].path, "z");
  EXPECT_EQ(seen[1].kind, DiffEntryKind::kHardLink);
  EXPECT_EQ(seen[1].link, "a");
}

TEST_F(OverlayDiffTest, KeepsUserXattrsOwnersAndModes) {
  put("f", "");
  std::string f = upper_ + "/f";
  ASSERT_EQ(::setxattr(f.c_str(), "user.k", "v", 1, 0), 0);
  ASSERT_EQ(::setxattr(f.c_str(), "trusted.overlay.origin", "x", 1, 0), 0);
  ASSERT_EQ(::chown(f.c_str(), 1000, 2000), 0);
  ASSERT_EQ(::chmod(f.c_str(), 04750), 0);
  auto seen = diff();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].xattrs, (std::map<std::string, std::string>{{"user.k", "v"}}));
  EXPECT_EQ(seen[0].info.uid, 1000u);
  EXPECT_EQ(seen[0].info.gid, 2000u);
  EXPECT_EQ(seen[0].info.mode, 04750u);
}

TEST_F(OverlayDiffTest, ExcludedPathsAndEverythingBelowAreLeftOut) {
  put("keep", "");
  put("skip/inner", "");
  put("etc/hosts", "");
  DiffOptions options;
  options.exclude = {"skip", "etc/hosts"};
  EXPECT_THAT(paths(options), ElementsAre("etc", "keep"));
}

TEST_F(OverlayDiffTest, MtimesAreClampedWhenAsked) {
  put("f", "");
  DiffOptions options;
  options.clamp_mtime = 1000;
  auto seen = diff(options);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].info.mtime_sec, 1000);
  EXPECT_EQ(seen[0].info.mtime_nsec, 0u);
}

TEST_F(OverlayDiffTest, EmptyUpperDirectoryIsAnEmptyLayer) { EXPECT_THAT(paths(), ElementsAre()); }

TEST(OverlayDiff, MissingUpperDirectoryIsAnErrorNamingIt) {
  auto st = diff_overlay_upper("/no/such/upper", {},
                               [](const DiffEntry&, util::Reader*) { return util::Status{}; });
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("/no/such/upper"), std::string::npos);
}

}  // namespace
}  // namespace bonsai::sys
