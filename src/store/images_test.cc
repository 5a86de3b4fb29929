#include "store/images.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/test_util.h"

namespace bonsai::store {
namespace {

using testing::list_dir;
using testing::ref;
using testing::store_image;
using testing::StoredImage;
using testing::TempDir;
using util::ErrorKind;

class ImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto i = Images::open(dir_.path());
    ASSERT_TRUE(i) << i.error().message();
    images_ = std::move(*i);
  }

  // The tags of every image in the store, keyed by manifest digest.
  std::map<oci::Digest, std::vector<std::string>> tags_by_manifest() {
    std::map<oci::Digest, std::vector<std::string>> out;
    auto list = images_->list();
    EXPECT_TRUE(list) << list.error().message();
    if (!list) return out;
    for (auto& img : *list) out[img.manifest_desc.digest] = img.tags;
    return out;
  }

  std::set<std::string> blob_names() {
    auto v = list_dir(dir_.file("blobs/sha256"));
    return {v.begin(), v.end()};
  }

  TempDir dir_;
  std::unique_ptr<Images> images_;
};

TEST_F(ImagesTest, AddingATagToAnotherImageMovesItAndLeavesTheOldImageDangling) {
  StoredImage a = store_image(images_->store(), {"a"});
  StoredImage b = store_image(images_->store(), {"b"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1")}));
  ASSERT_TRUE(images_->add(b.desc, {ref("app:1")}));
  auto tags = tags_by_manifest();
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[b.desc.digest], std::vector<std::string>{"app:1"});
  EXPECT_TRUE(tags[a.desc.digest].empty());
  // The dangling image is an index entry without a ref name.
  auto index = images_->store().read_index();
  ASSERT_TRUE(index);
  for (auto& d : index->manifests) {
    if (d.digest == a.desc.digest) {
      EXPECT_FALSE(d.annotations.count(std::string(oci::kRefNameAnnotation)));
    }
  }
}

TEST_F(ImagesTest, MovingOneOfSeveralTagsLeavesTheOthers) {
  StoredImage a = store_image(images_->store(), {"a"});
  StoredImage b = store_image(images_->store(), {"b"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1"), ref("app:latest")}));
  ASSERT_TRUE(images_->add(b.desc, {ref("app:latest")}));
  auto tags = tags_by_manifest();
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[a.desc.digest], std::vector<std::string>{"app:1"});
  EXPECT_EQ(tags[b.desc.digest], std::vector<std::string>{"app:latest"});
  auto index = images_->store().read_index();
  ASSERT_TRUE(index);
  EXPECT_EQ(index->manifests.size(), 2u);  // no extra dangling entry for a
}

// A rebuild tags the image it tagged before: the index is left as it is (same entry order), and
// index.json is not rewritten, so a warm build spends no fsync on it.
TEST_F(ImagesTest, RetaggingWithTheSameTagsLeavesIndexJsonUntouched) {
  StoredImage a = store_image(images_->store(), {"a"});
  StoredImage b = store_image(images_->store(), {"b"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1"), ref("app:2")}));
  ASSERT_TRUE(images_->add(b.desc, {ref("other:1")}));
  struct stat before {};
  ASSERT_EQ(::stat(dir_.file("index.json").c_str(), &before), 0);
  ASSERT_TRUE(images_->add(a.desc, {ref("app:2"), ref("app:1")}));
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1")}));
  struct stat after {};
  ASSERT_EQ(::stat(dir_.file("index.json").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // written by rename, so a new inode on any change
  // A real change is still written.
  ASSERT_TRUE(images_->add(b.desc, {ref("app:1")}));
  ASSERT_EQ(::stat(dir_.file("index.json").c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  auto tags = tags_by_manifest();
  EXPECT_EQ(tags[a.desc.digest], std::vector<std::string>{"app:2"});
}

TEST_F(ImagesTest, TaggingADanglingImageNamesIt) {
  StoredImage a = store_image(images_->store(), {"a"});
  ASSERT_TRUE(images_->add(a.desc, {}));
  ASSERT_TRUE(images_->add(a.desc, {}));  // adding it again changes nothing
  auto index = images_->store().read_index();
  ASSERT_TRUE(index);
  EXPECT_EQ(index->manifests.size(), 1u);
  ASSERT_TRUE(images_->add(a.desc, {ref("app:2")}));
  index = images_->store().read_index();
  ASSERT_TRUE(index);
  ASSERT_EQ(index->manifests.size(), 1u);
  EXPECT_EQ(index->manifests[0].annotations.at(std::string(oci::kRefNameAnnotation)), "app:2");
}

TEST_F(ImagesTest, UntagOfTheLastTagRemovesTheImage) {
  StoredImage a = store_image(images_->store(), {"a"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1"), ref("app:2")}));
  ASSERT_TRUE(images_->untag(ref("app:1")));
  auto tags = tags_by_manifest();
  EXPECT_EQ(tags[a.desc.digest], std::vector<std::string>{"app:2"});
  ASSERT_TRUE(images_->untag(ref("app:2")));
  EXPECT_TRUE(tags_by_manifest().empty());
  auto again = images_->untag(ref("app:2"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(again.error().message(), "No such image: app:2");
}

TEST_F(ImagesTest, ResolveFindsAnImageByTagShortIdFullIdAndManifestDigest) {
  StoredImage a = store_image(images_->store(), {"a"});
  StoredImage b = store_image(images_->store(), {"b"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1"), ref("web:latest")}));
  ASSERT_TRUE(images_->add(b.desc, {ref("other:2")}));
  auto check = [&](const std::string& name, const StoredImage& want) {
    auto img = images_->resolve(name);
    ASSERT_TRUE(img) << name << ": " << img.error().message();
    EXPECT_EQ(img->id, want.config) << name;
    EXPECT_EQ(img->manifest_desc.digest, want.desc.digest) << name;
  };
  check("app:1", a);
  check("web", a);  // web:latest
  check("docker.io/library/web:latest", a);
  check("other:2", b);
  check(a.config.short_id(), a);
  check(std::string(a.config.hex().substr(0, 5)), a);
  check(std::string(a.config.hex()), a);
  check(a.config.str(), a);
  check(b.desc.digest.str(), b);
  check(std::string(b.desc.digest.hex()), b);
  for (std::string missing : {"app:9", "nothing", "abcdef0123", "sha256:0000"}) {
    auto img = images_->resolve(missing);
    ASSERT_FALSE(img) << missing;
    EXPECT_EQ(img.error().kind(), ErrorKind::kNotFound);
    EXPECT_EQ(img.error().message(), "No such image: " + missing);
  }
}

TEST_F(ImagesTest, ListShowsNewestImageFirst) {
  StoredImage old_img = store_image(images_->store(), {"o"}, "2020-01-01T00:00:00Z");
  StoredImage new_img = store_image(images_->store(), {"n"}, "2024-01-01T00:00:00Z");
  ASSERT_TRUE(images_->add(old_img.desc, {ref("old:1")}));
  ASSERT_TRUE(images_->add(new_img.desc, {ref("new:1")}));
  auto list = images_->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].tags, std::vector<std::string>{"new:1"});
  EXPECT_EQ((*list)[1].tags, std::vector<std::string>{"old:1"});
}

TEST_F(ImagesTest, PruneRemovesDanglingImagesAndUnreferencedBlobsButKeepsTaggedOnes) {
  // a is tagged; b shares a layer with a and becomes dangling; a stray blob belongs to nobody.
  StoredImage a = store_image(images_->store(), {"shared", "only-a"});
  StoredImage b = store_image(images_->store(), {"shared", "only-b"});
  ASSERT_TRUE(images_->add(b.desc, {ref("app:1")}));
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1")}));
  oci::Digest stray = *images_->store().put_blob("stray");
  ASSERT_EQ(tags_by_manifest().size(), 2u);

  auto report = images_->prune();
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->images_removed, 1);
  EXPECT_EQ(report->blobs_removed, 4);  // b's manifest, config, own layer; the stray blob
  EXPECT_GT(report->bytes_freed, 0u);

  std::set<std::string> want;
  for (auto& d : a.layers) want.insert(std::string(d.hex()));
  want.insert(std::string(a.config.hex()));
  want.insert(std::string(a.desc.digest.hex()));
  EXPECT_EQ(blob_names(), want);
  EXPECT_FALSE(images_->store().has_blob(stray));
  auto tags = tags_by_manifest();
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[a.desc.digest], std::vector<std::string>{"app:1"});
  auto fsck = images_->fsck();
  ASSERT_TRUE(fsck);
  EXPECT_TRUE(fsck->problems.empty());
  // A second prune finds nothing more.
  report = images_->prune();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->images_removed, 0);
  EXPECT_EQ(report->blobs_removed, 0);
}

TEST_F(ImagesTest, PruneKeepsEveryBlobOfAnImageWithSeveralTags) {
  StoredImage a = store_image(images_->store(), {"x", "y", "z"});
  ASSERT_TRUE(images_->add(a.desc, {ref("one:1"), ref("two:2")}));
  size_t before = blob_names().size();
  auto report = images_->prune();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->blobs_removed, 0);
  EXPECT_EQ(blob_names().size(), before);
}

TEST_F(ImagesTest, FsckOfAHealthyStoreReportsNoProblem) {
  StoredImage a = store_image(images_->store(), {"a", "b"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1")}));
  auto r = images_->fsck();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->problems.empty());
  EXPECT_EQ(r->blobs_checked, 4);
  EXPECT_EQ(r->stale_ingests_removed, 0);
}

TEST_F(ImagesTest, FsckReportsAFlippedByteInALayerBlob) {
  StoredImage a = store_image(images_->store(), {"a", "b"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1")}));
  testing::flip_byte(images_->store().blob_path(a.layers[1]), 600);
  auto r = images_->fsck();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0], "blob " + a.layers[1].str() + ": content does not match its digest");
}

TEST_F(ImagesTest, FsckReportsAMissingLayerBlob) {
  StoredImage a = store_image(images_->store(), {"a", "b"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1")}));
  ASSERT_EQ(::unlink(images_->store().blob_path(a.layers[0]).c_str()), 0);
  auto r = images_->fsck();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0], "app:1: layer " + a.layers[0].str() + " is missing");
}

TEST_F(ImagesTest, FsckReportsAMissingManifestAndConfig) {
  StoredImage a = store_image(images_->store(), {"a"});
  StoredImage b = store_image(images_->store(), {"b"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1")}));
  ASSERT_TRUE(images_->add(b.desc, {ref("app:2")}));
  ASSERT_EQ(::unlink(images_->store().blob_path(a.desc.digest).c_str()), 0);
  ASSERT_EQ(::unlink(images_->store().blob_path(b.config).c_str()), 0);
  auto r = images_->fsck();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->problems.size(), 2u);
  std::string all = r->problems[0] + "\n" + r->problems[1];
  EXPECT_NE(all.find("app:1: manifest " + a.desc.digest.str() + " is missing"), std::string::npos)
      << all;
  EXPECT_NE(all.find("app:2: "), std::string::npos) << all;
  EXPECT_NE(all.find(b.config.str()), std::string::npos) << all;
}

TEST_F(ImagesTest, FsckRemovesTheIngestFileOfADeadWriter) {
  StoredImage a = store_image(images_->store(), {"a"});
  ASSERT_TRUE(images_->add(a.desc, {ref("app:1")}));
  // A file nobody holds a lock on is what a killed writer leaves.
  testing::put_file(dir_.file("ingest/0123456789abcdef"), "partial");
  auto r = images_->fsck();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->problems.empty());
  EXPECT_EQ(r->stale_ingests_removed, 1);
  EXPECT_TRUE(list_dir(dir_.file("ingest")).empty());
}

TEST_F(ImagesTest, FsckBesideAProcessAddingImagesReportsNoProblem) {
  // A writer publishes blobs before the index names them; fsck must not catch it in between.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto mine = Images::open(dir_.path());
    if (!mine) ::_exit(10);
    for (int i = 0; i < 150; ++i) {
      StoredImage img = store_image((*mine)->store(), {"layer " + std::to_string(i)});
      if (!(*mine)->add(img.desc, {testing::ref("app:" + std::to_string(i))})) ::_exit(11);
    }
    ::_exit(0);
  }
  int status = 0, runs = 0;
  std::vector<std::string> problems;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    auto r = images_->fsck();
    ASSERT_TRUE(r) << r.error().message();
    problems.insert(problems.end(), r->problems.begin(), r->problems.end());
    ++runs;
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GT(runs, 0);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front();
}

TEST_F(ImagesTest, LayerInfoRejectsALayerWhoseContentIsNotItsDiffId) {
  StoredImage a = store_image(images_->store(), {"a"});
  oci::Descriptor layer{std::string(oci::media::kOciLayer), a.layers[0], 0, {}, {}, {}};
  auto info = images_->layer_info(layer, oci::Digest::of("something else"));
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(info.error().message().find("config says " + oci::Digest::of("something else").str()),
            std::string::npos)
      << info.error().message();
}

TEST_F(ImagesTest, LayerInfoVerifiesEachBlobEvenWhenItsDiffIdIsKnown) {
  // A blob already verified for a diff-id must not vouch for another blob claiming the same one.
  StoredImage a = store_image(images_->store(), {"genuine"});
  auto img = images_->load_image(a.desc);
  ASSERT_TRUE(img);
  oci::Descriptor genuine = img->manifest.layers[0];
  oci::Digest diff_id = img->config.diff_ids[0];
  ASSERT_TRUE(images_->layer_info(genuine, diff_id));
  std::string forged = testing::layer_tar({{"file.txt", "forged"}});
  oci::Descriptor impostor{std::string(oci::media::kOciLayer),
                           *images_->store().put_blob(forged),
                           static_cast<int64_t>(forged.size()),
                           {},
                           {},
                           {}};
  auto info = images_->layer_info(impostor, diff_id);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().kind(), ErrorKind::kCorrupt);
  // The genuine blob is still known good.
  EXPECT_TRUE(images_->layer_info(genuine, diff_id));
}

TEST(HumanSize, MatchesDockersSiFormatWithThreeSignificantDigits) {
  // go-units HumanSizeWithPrecision(size, 3) = fmt.Sprintf("%.*g%s", 3, size, unit), base 1000.
  struct Case {
    uint64_t bytes;
    const char* want;
  };
  for (auto [bytes, want] : std::vector<Case>{
           {0, "0B"},
           {1, "1B"},
           {999, "999B"},
           {1000, "1kB"},
           {1024, "1.02kB"},
           {12345, "12.3kB"},
           {999499, "999kB"},
           {1650000, "1.65MB"},
           {8860000, "8.86MB"},
           {957000000, "957MB"},
           {998500000, "998MB"},    // exactly half: Go rounds to even, as C does
           {999500000, "1e+03MB"},  // Go's %g switches to an exponent here; so does Docker
           {1000000000, "1GB"},
           {1200000000000, "1.2TB"},
           {uint64_t{18446744073709551615u}, "18.4EB"},
       }) {
    EXPECT_EQ(human_size(bytes), want) << bytes;
  }
}

}  // namespace
}  // namespace bonsai::store
