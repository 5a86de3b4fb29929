// The fake's own semantics: layer_apply_test.cc relies on it behaving as RootFs does.
#include <gtest/gtest.h>

#include "archive/mem_tree_fs_test_util.h"

namespace bonsai::archive::testing {
namespace {

using util::ErrorKind;
using util::FileType;

void write(MemTreeFs& fs, std::string_view path, std::string_view data) {
  auto w = fs.create_file(path, 0644);
  ASSERT_TRUE(w) << w.error().message();
  ASSERT_TRUE((*w)->write(data));
  ASSERT_TRUE((*w)->close());
}

TEST(MemTreeFs, AbsoluteAndDotDotSymlinksInParentsStayInsideRoot) {
  MemTreeFs fs;
  ASSERT_TRUE(fs.symlink("/", "abs"));
  ASSERT_TRUE(fs.symlink("../../../..", "up"));
  write(fs, "abs/one", "1");
  write(fs, "up/two", "2");
  EXPECT_EQ(fs.dump(),
            "abs symlink 0777 0:0 -> /\n"
            "one file 0644 0:0 '1'\n"
            "two file 0644 0:0 '2'\n"
            "up symlink 0777 0:0 -> ../../../..\n");
}

TEST(MemTreeFs, LastComponentIsNeverFollowed) {
  MemTreeFs fs;
  ASSERT_TRUE(fs.mkdir("d", 0755));
  ASSERT_TRUE(fs.symlink("d", "s"));
  auto info = fs.lstat("s");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->type, FileType::kSymlink);
  auto created = fs.create_file("s", 0644);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(fs.set_mode("s", 0700).error().kind(), ErrorKind::kUnsupported);
  ASSERT_TRUE(fs.remove_all("s"));
  EXPECT_TRUE(fs.find("d")) << "removing the link keeps its target";
}

TEST(MemTreeFs, SymlinkLoopsFailWithEloop) {
  MemTreeFs fs;
  ASSERT_TRUE(fs.symlink("b", "a"));
  ASSERT_TRUE(fs.symlink("a", "b"));
  auto st = fs.mkdir("a/x", 0755);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().sys_errno(), ELOOP);
}

TEST(MemTreeFs, DotDotAfterAFileIsNotADirectory) {
  MemTreeFs fs;
  write(fs, "f", "");
  ASSERT_TRUE(fs.symlink("f/..", "up"));
  auto st = fs.mkdir("up/x", 0755);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().sys_errno(), ENOTDIR);
}

TEST(MemTreeFs, HardLinksShareOneNode) {
  MemTreeFs fs;
  write(fs, "f", "data");
  ASSERT_TRUE(fs.link("f", "g"));
  EXPECT_EQ(fs.find("f"), fs.find("g"));
  ASSERT_TRUE(fs.remove("f"));
  auto info = fs.lstat("g");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->nlink, 1u);
  EXPECT_FALSE(fs.link("", "root-link")) << "directories cannot be linked";
}

TEST(MemTreeFs, ChownClearsSetuidAndCapabilities) {
  MemTreeFs fs;
  write(fs, "f", "");
  ASSERT_TRUE(fs.set_mode("f", 06755));
  ASSERT_TRUE(fs.set_xattr("f", "security.capability", "caps"));
  ASSERT_TRUE(fs.set_owner("f", 1, 1));
  EXPECT_EQ(fs.find("f")->info.mode, 0755u);
  EXPECT_TRUE(fs.find("f")->xattrs.empty());
}

TEST(MemTreeFs, ChangingEntriesBumpsDirectoryMtime) {
  MemTreeFs fs;
  ASSERT_TRUE(fs.mkdir("d", 0755));
  ASSERT_TRUE(fs.set_mtime("d", 5, 0));
  write(fs, "d/f", "");
  EXPECT_NE(fs.find("d")->info.mtime_sec, 5);
}

TEST(MemTreeFs, FaultsAreInjectedByOperationAndPath) {
  MemTreeFs fs;
  fs.fault = [](std::string_view op, std::string_view path) {
    return op == "mknod" && path == "dev/null" ? EPERM : 0;
  };
  ASSERT_TRUE(fs.mkdir("dev", 0755));
  auto st = fs.mknod("dev/null", FileType::kCharDevice, 0666, 1, 3);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().sys_errno(), EPERM);
  EXPECT_TRUE(fs.mknod("dev/zero", FileType::kCharDevice, 0666, 1, 5));
}

TEST(MemTreeFs, RejectsUncleanPaths) {
  MemTreeFs fs;
  for (std::string_view bad : {"..", "a/..", "/a", "a//b", "."}) {
    auto st = fs.mkdir(bad, 0755);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().kind(), ErrorKind::kInvalidArgument);
  }
}

}  // namespace
}  // namespace bonsai::archive::testing
