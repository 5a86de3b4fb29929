#include "sys/root_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace bonsai::sys {
namespace {

using util::ErrorKind;
using util::FileType;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

bool host_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// A temp dir holding root/ (the tree) and outside/secret (must never change).
class RootFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bonsai-rootfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((base_ + "/outside").c_str(), 0755), 0);
    spit(base_ + "/outside/secret", "secret");
    ASSERT_EQ(::chmod((base_ + "/outside/secret").c_str(), 0600), 0);
    auto fs = RootFs::open(root_);
    ASSERT_TRUE(fs) << fs.error().message();
    fs_ = std::move(*fs);
  }
  void TearDown() override { ASSERT_TRUE(sys::remove_all(base_)); }

  void expect_secret_untouched() {
    struct stat st;
    ASSERT_EQ(::lstat((base_ + "/outside/secret").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_nlink, 1u);
    EXPECT_EQ(slurp(base_ + "/outside/secret"), "secret");
  }

  void write(std::string_view path, std::string_view data, uint32_t mode = 0644) {
    auto w = fs_->create_file(path, mode);
    ASSERT_TRUE(w) << w.error().message();
    ASSERT_TRUE((*w)->write(data));
    ASSERT_TRUE((*w)->close());
  }

  std::string base_, root_;
  std::unique_ptr<RootFs> fs_;
};

TEST_F(RootFsTest, RejectsUncleanPaths) {
  for (std::string_view bad : {"..", "../x", "a/../b", "/etc", "a//b", "./a", "a/", "a/."}) {
    auto st = fs_->mkdir(bad, 0755);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().kind(), ErrorKind::kInvalidArgument) << bad;
  }
  expect_secret_untouched();
}

TEST_F(RootFsTest, CreatesAndReadsFilesInsideRoot) {
  ASSERT_TRUE(fs_->mkdir("d", 0755));
  write("d/f", "hello");
  EXPECT_EQ(slurp(root_ + "/d/f"), "hello");
  auto r = fs_->open_read("d/f");
  ASSERT_TRUE(r) << r.error().message();
  auto data = util::read_all(**r, 100);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "hello");
  auto info = fs_->lstat("d/f");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->type, FileType::kRegular);
  EXPECT_EQ((*info)->size, 5u);
}

TEST_F(RootFsTest, AbsoluteSymlinkInParentResolvesInsideRoot) {
  ASSERT_TRUE(fs_->symlink("/", "a"));
  write("a/escape", "x");
  EXPECT_EQ(slurp(root_ + "/escape"), "x");
  EXPECT_FALSE(host_exists("/escape"));
  expect_secret_untouched();
}

TEST_F(RootFsTest, DotDotSymlinkInParentStopsAtRoot) {
  ASSERT_TRUE(fs_->symlink("../../../../outside", "up"));
  auto w = fs_->create_file("up/secret2", 0644);
  ASSERT_FALSE(w) << "resolves to <root>/outside, which does not exist yet";
  EXPECT_EQ(w.error().kind(), ErrorKind::kNotFound);
  EXPECT_FALSE(host_exists(base_ + "/outside/secret2"));
  ASSERT_TRUE(fs_->mkdir("outside", 0755));
  write("up/secret2", "x");
  EXPECT_EQ(slurp(root_ + "/outside/secret2"), "x");
  EXPECT_FALSE(host_exists(base_ + "/outside/secret2"));
  expect_secret_untouched();
}

TEST_F(RootFsTest, HostPathSymlinkInParentIsReadInsideRoot) {
  ASSERT_TRUE(fs_->symlink(base_ + "/outside", "host"));
  auto info = fs_->lstat("host/secret");
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_FALSE(*info) << "resolved to <root>" << base_ << "/outside, which does not exist";
  EXPECT_FALSE(fs_->open_read("host/secret"));
  EXPECT_FALSE(fs_->set_mode("host/secret", 0777));
  EXPECT_TRUE(fs_->remove_all("host/secret"));
  expect_secret_untouched();
}

TEST_F(RootFsTest, CreateRefusesExistingSymlinkToOutside) {
  ASSERT_TRUE(fs_->symlink(base_ + "/outside/secret", "s"));
  auto w = fs_->create_file("s", 0644);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_NE(w.error().message().find(root_ + "/s"), std::string::npos) << w.error().message();
  EXPECT_FALSE(fs_->mkdir("s", 0755));
  EXPECT_FALSE(fs_->mknod("s", FileType::kFifo, 0644, 0, 0));
  expect_secret_untouched();
}

TEST_F(RootFsTest, MetadataCallsDoNotFollowFinalSymlink) {
  ASSERT_TRUE(fs_->symlink("../outside/secret", "s"));
  auto mode = fs_->set_mode("s", 0777);
  ASSERT_FALSE(mode);
  EXPECT_EQ(mode.error().kind(), ErrorKind::kUnsupported);
  ASSERT_TRUE(fs_->set_owner("s", 123, 456));
  ASSERT_TRUE(fs_->set_mtime("s", 1000, 5));
  EXPECT_FALSE(fs_->set_xattr("s", "user.bonsai", "v")) << "user.* is refused on symlinks";
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/s").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 123u);
  EXPECT_EQ(st.st_gid, 456u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 5);
  EXPECT_LT(::lgetxattr((base_ + "/outside/secret").c_str(), "user.bonsai", nullptr, 0), 0);
  expect_secret_untouched();
}

TEST_F(RootFsTest, SetsModeOwnerMtimeAndXattrOnFiles) {
  write("f", "");
  ASSERT_TRUE(fs_->set_owner("f", 7, 8));
  ASSERT_TRUE(fs_->set_mode("f", 04755));
  ASSERT_TRUE(fs_->set_mtime("f", 1234567890, 123));
  ASSERT_TRUE(fs_->set_xattr("f", "user.k", "value"));
  auto info = fs_->lstat("f");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->mode, 04755u);
  EXPECT_EQ((*info)->uid, 7u);
  EXPECT_EQ((*info)->gid, 8u);
  EXPECT_EQ((*info)->mtime_sec, 1234567890);
  EXPECT_EQ((*info)->mtime_nsec, 123u);
  char buf[16];
  ssize_t n = ::lgetxattr((root_ + "/f").c_str(), "user.k", buf, sizeof buf);
  ASSERT_EQ(n, 5);
  EXPECT_EQ(std::string(buf, 5), "value");
}

TEST_F(RootFsTest, RootItselfCanBeStatedAndChanged) {
  auto info = fs_->lstat("");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->type, FileType::kDirectory);
  ASSERT_TRUE(fs_->set_mtime("", 42, 0));
  struct stat st;
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 42);
  EXPECT_FALSE(fs_->remove_all(""));
  EXPECT_FALSE(fs_->remove(""));
}

TEST_F(RootFsTest, LinkResolvesExistingInsideRoot) {
  write("target", "t");
  ASSERT_TRUE(fs_->symlink("/", "a"));
  ASSERT_TRUE(fs_->link("a/target", "l"));
  struct stat a, b;
  ASSERT_EQ(::lstat((root_ + "/target").c_str(), &a), 0);
  ASSERT_EQ(::lstat((root_ + "/l").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);

  ASSERT_TRUE(fs_->symlink(base_ + "/outside", "host"));
  auto st = fs_->link("host/secret", "l2");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind(), ErrorKind::kNotFound);
  expect_secret_untouched();
}

TEST_F(RootFsTest, LinkToSymlinkLinksTheSymlinkItself) {
  ASSERT_TRUE(fs_->symlink("../outside/secret", "s"));
  ASSERT_TRUE(fs_->link("s", "l"));
  auto info = fs_->lstat("l");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->type, FileType::kSymlink);
  EXPECT_EQ((*info)->nlink, 2u);
  auto target = fs_->read_link("l");
  ASSERT_TRUE(target);
  EXPECT_EQ(*target, "../outside/secret");
  expect_secret_untouched();
}

TEST_F(RootFsTest, RemoveAllNeverFollowsSymlinks) {
  ASSERT_TRUE(fs_->mkdir("d", 0755));
  ASSERT_TRUE(fs_->mkdir("d/sub", 0755));
  write("d/sub/f", "x");
  ASSERT_TRUE(fs_->symlink(base_ + "/outside", "d/host"));
  ASSERT_TRUE(fs_->symlink("../../outside", "d/sub/rel"));
  ASSERT_TRUE(fs_->remove_all("d"));
  EXPECT_FALSE(host_exists(root_ + "/d"));
  EXPECT_TRUE(fs_->remove_all("d")) << "absent is not an error";
  expect_secret_untouched();
}

TEST_F(RootFsTest, RemoveAllThroughSymlinkedParentStaysInRoot) {
  ASSERT_TRUE(fs_->mkdir("outside", 0755));
  write("outside/secret", "inner");
  ASSERT_TRUE(fs_->symlink("../..", "up"));
  ASSERT_TRUE(fs_->remove_all("up/outside"));
  EXPECT_FALSE(host_exists(root_ + "/outside"));
  expect_secret_untouched();
}

TEST_F(RootFsTest, ListIsSortedAndDoesNotFollowFinalSymlink) {
  ASSERT_TRUE(fs_->mkdir("d", 0755));
  write("d/b", "");
  write("d/a", "");
  ASSERT_TRUE(fs_->mkdir("d/c", 0755));
  auto names = fs_->list("d");
  ASSERT_TRUE(names) << names.error().message();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(fs_->symlink(base_ + "/outside", "s"));
  EXPECT_FALSE(fs_->list("s"));
}

TEST_F(RootFsTest, ListInfoAgreesWithListAndLstat) {
  ASSERT_TRUE(fs_->mkdir("d", 0750));
  write("d/b", "bb");
  ASSERT_TRUE(fs_->mkdir("d/a", 0700));
  ASSERT_TRUE(fs_->symlink("/etc", "d/l"));
  auto entries = fs_->list_info("d");
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].name, "a");
  EXPECT_EQ((*entries)[0].info.type, FileType::kDirectory);
  EXPECT_EQ((*entries)[1].name, "b");
  EXPECT_EQ((*entries)[1].info.size, 2u);
  EXPECT_EQ((*entries)[2].info.type, FileType::kSymlink) << "entries are not followed";
  auto root = fs_->list_info("");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->size(), (*fs_->list("")).size());
  ASSERT_TRUE(fs_->symlink(base_ + "/outside", "s"));
  EXPECT_FALSE(fs_->list_info("s")) << "a final symlink is not followed";
}

TEST_F(RootFsTest, OpenReadRefusesSymlinksAndFifos) {
  ASSERT_TRUE(fs_->symlink("../outside/secret", "s"));
  EXPECT_FALSE(fs_->open_read("s"));
  ASSERT_TRUE(fs_->mknod("p", FileType::kFifo, 0644, 0, 0));
  auto r = fs_->open_read("p");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not a regular file"), std::string::npos);
}

TEST_F(RootFsTest, MakesDeviceNodesAndFifos) {
  ASSERT_TRUE(fs_->mknod("p", FileType::kFifo, 0600, 0, 0));
  auto st = fs_->mknod("null", FileType::kCharDevice, 0666, 1, 3);
  if (!st && st.error().sys_errno() == EPERM) GTEST_SKIP() << "no CAP_MKNOD here";
  ASSERT_TRUE(st) << st.error().message();
  auto info = fs_->lstat("null");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->type, FileType::kCharDevice);
  EXPECT_EQ((*info)->rdev_major, 1u);
  EXPECT_EQ((*info)->rdev_minor, 3u);
  EXPECT_FALSE(fs_->mknod("x", FileType::kRegular, 0644, 0, 0));
}

TEST_F(RootFsTest, LstatReportsAbsenceAndNonDirectoryParents) {
  auto missing = fs_->lstat("nope/x");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  write("f", "");
  auto through_file = fs_->lstat("f/x");
  ASSERT_FALSE(through_file);
  EXPECT_NE(through_file.error().message().find(root_ + "/f/x"), std::string::npos)
      << through_file.error().message();
}

TEST_F(RootFsTest, SymlinkLoopIsAnError) {
  ASSERT_TRUE(fs_->symlink("b", "a"));
  ASSERT_TRUE(fs_->symlink("a", "b"));
  auto w = fs_->create_file("a/x", 0644);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().sys_errno(), ELOOP);
}

TEST_F(RootFsTest, RemoveDeletesFilesAndEmptyDirectories) {
  ASSERT_TRUE(fs_->mkdir("d", 0755));
  write("d/f", "");
  EXPECT_FALSE(fs_->remove("d")) << "not empty";
  ASSERT_TRUE(fs_->remove("d/f"));
  ASSERT_TRUE(fs_->remove("d"));
  EXPECT_FALSE(host_exists(root_ + "/d"));
}

}  // namespace
}  // namespace bonsai::sys
