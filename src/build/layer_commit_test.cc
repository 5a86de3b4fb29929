#include "build/layer_commit.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "archive/layer_writer.h"
#include "archive/tar.h"
#include "store/layer_scan.h"

namespace bonsai::build {
namespace {

namespace fs = std::filesystem;

class LayerCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/bonsai-commit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    upper_ = dir_ + "/upper";
    fs::create_directories(upper_);
    auto images = store::Images::open(dir_ + "/store");
    ASSERT_TRUE(images) << images.error().message();
    images_ = std::move(*images);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(upper_ + "/" + rel).parent_path());
    std::ofstream(upper_ + "/" + rel) << data;
  }

  // The committed blob's entries, path -> type letter and size, read back with the tar reader.
  std::map<std::string, std::string> read_back(const CommittedLayer& l) {
    std::map<std::string, std::string> out;
    auto fd = images_->store().open_blob(l.descriptor.digest);
    EXPECT_TRUE(fd);
    sys::FdReader in(fd->get(), "blob");
    auto plain = store::decompressed(in);
    EXPECT_TRUE(plain);
    archive::TarReader tar(**plain);
    for (;;) {
      auto e = tar.next();
      EXPECT_TRUE(e) << e.error().message();
      if (!e || !*e) break;
      std::string kind = (*e)->type == archive::EntryType::kDirectory  ? "d"
                         : (*e)->type == archive::EntryType::kSymlink  ? "l"
                         : (*e)->type == archive::EntryType::kHardLink ? "h"
                                                                       : "f";
      out[(*e)->path] = kind + std::to_string((*e)->size);
    }
    return out;
  }

  std::string dir_, upper_;
  std::unique_ptr<store::Images> images_;
};

TEST_F(LayerCommitTest, WritesFilesWhiteoutsAndOpaqueDirsAsOciEntries) {
  if (::geteuid() != 0) GTEST_SKIP() << "whiteouts need mknod (root)";
  write("app/main", "hello");
  ASSERT_EQ(::symlink("main", (upper_ + "/app/link").c_str()), 0);
  ASSERT_EQ(::mknod((upper_ + "/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  fs::create_directories(upper_ + "/etc/replaced");
  ASSERT_EQ(::setxattr((upper_ + "/etc/replaced").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);

  auto l = commit_upper_dir(*images_, upper_);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_FALSE(l->empty);
  EXPECT_EQ(l->descriptor.media_type, oci::media::kOciLayerGzip);
  auto entries = read_back(*l);
  EXPECT_EQ(entries["app/main"], "f5");
  EXPECT_EQ(entries["app/link"], "l0");
  EXPECT_EQ(entries[".wh.gone"], "f0");
  EXPECT_EQ(entries["etc/replaced"], "d0");
  EXPECT_EQ(entries["etc/replaced/.wh..wh..opq"], "f0");
  EXPECT_EQ(entries.count("gone"), 0u);
  // Content size as Docker counts it: 5 bytes of file, 4 of symlink target.
  EXPECT_EQ(l->info.content_size, 9u);
}

TEST_F(LayerCommitTest, DigestsMatchTheStoredBlobAndItsDiffId) {
  write("a", std::string(100000, 'x'));
  auto l = commit_upper_dir(*images_, upper_);
  ASSERT_TRUE(l) << l.error().message();
  auto fd = images_->store().open_blob(l->descriptor.digest);
  ASSERT_TRUE(fd);
  sys::FdReader in(fd->get(), "blob");
  auto scan = store::scan_layer(in);
  ASSERT_TRUE(scan) << scan.error().message();
  EXPECT_EQ(scan->diff_id, l->diff_id);
  EXPECT_EQ(scan->info.content_size, 100000u);
  EXPECT_EQ(scan->info.tar_size, l->info.tar_size);
}

TEST_F(LayerCommitTest, SameTreeGivesSameDigests) {
  write("x/y", "same");
  fs::last_write_time(upper_ + "/x/y", fs::file_time_type::clock::now());
  auto a = commit_upper_dir(*images_, upper_, {.clamp_mtime = 0});
  auto b = commit_upper_dir(*images_, upper_, {.clamp_mtime = 0});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->descriptor.digest, b->descriptor.digest);
  EXPECT_EQ(a->diff_id, b->diff_id);
}

TEST_F(LayerCommitTest, EmptyUpperDirIsAnEmptyLayer) {
  auto l = commit_upper_dir(*images_, upper_);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_TRUE(l->empty);
  EXPECT_EQ(l->info.content_size, 0u);
}

TEST_F(LayerCommitTest, MissingUpperDirFailsAndPublishesNothing) {
  auto l = commit_upper_dir(*images_, dir_ + "/nosuch");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("nosuch"), std::string::npos) << l.error().message();
  EXPECT_TRUE(fs::is_empty(dir_ + "/store/blobs/sha256"));
  EXPECT_TRUE(fs::is_empty(dir_ + "/store/ingest"));
}

}  // namespace
}  // namespace bonsai::build
