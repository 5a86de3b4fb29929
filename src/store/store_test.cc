#include "store/store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "store/test_util.h"

namespace bonsai::store {
namespace {

using testing::list_dir;
using testing::slurp;
using testing::TempDir;
using util::ErrorKind;

std::unique_ptr<Store> open_store(const std::string& root) {
  auto s = Store::open(root);
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::move(*s) : nullptr;
}

oci::Descriptor named_descriptor(const std::string& name) {
  oci::Descriptor d{std::string(oci::media::kOciManifest), oci::Digest::of(name), 1, {}, {}, {}};
  d.annotations[std::string(oci::kRefNameAnnotation)] = name;
  return d;
}

// Waits for a child and returns its exit status (-1 when it did not exit normally).
int wait_child(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Store, OpenCreatesAnEmptyOciLayout) {
  TempDir dir;
  std::string root = dir.file("store");
  auto s = open_store(root);
  ASSERT_TRUE(s);
  EXPECT_EQ(slurp(root + "/oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  auto index = s->read_index();
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_TRUE(index->manifests.empty());
  EXPECT_TRUE(list_dir(root + "/blobs/sha256").empty());
  EXPECT_TRUE(list_dir(root + "/ingest").empty());
  // Reopening an existing layout works and changes nothing.
  std::string before = slurp(root + "/index.json");
  ASSERT_TRUE(open_store(root));
  EXPECT_EQ(slurp(root + "/index.json"), before);
}

TEST(Store, OpenFailsOnALayoutOfAnotherVersion) {
  TempDir dir;
  testing::put_file(dir.file("oci-layout"), R"({"imageLayoutVersion":"2.0.0"})");
  auto s = Store::open(dir.path());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(s.error().message().find(dir.file("oci-layout")), std::string::npos)
      << s.error().message();
  EXPECT_NE(s.error().message().find("not an OCI image layout"), std::string::npos);
}

TEST(Store, OpenFailsOnAnOciLayoutFileThatIsNotJson) {
  TempDir dir;
  testing::put_file(dir.file("oci-layout"), "imageLayoutVersion=1.0.0");
  auto s = Store::open(dir.path());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(dir.file("oci-layout")), std::string::npos)
      << s.error().message();
  EXPECT_NE(s.error().message().find("invalid JSON"), std::string::npos) << s.error().message();
}

TEST(Store, OpenFailsOnANonEmptyDirectoryThatIsNotALayoutAndLeavesItAlone) {
  TempDir dir;
  testing::put_file(dir.file("notes.txt"), "my files");
  auto s = Store::open(dir.path());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(dir.path()), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("not an OCI image layout"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"notes.txt"});
}

TEST(Store, OpenFailsWhenTheRootIsAFile) {
  TempDir dir;
  testing::put_file(dir.file("file"), "x");
  auto s = Store::open(dir.file("file"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(dir.file("file")), std::string::npos) << s.error().message();
}

TEST(Store, OpenCompletesALayoutWhoseCreationWasInterrupted) {
  // A process killed while creating the layout leaves its directories (and maybe index.json)
  // but no oci-layout, which is written last.
  TempDir dir;
  ASSERT_TRUE(sys::mkdir_p(dir.file("blobs/sha256")));
  ASSERT_TRUE(sys::mkdir_p(dir.file("locks")));
  auto s = open_store(dir.path());
  ASSERT_TRUE(s);
  EXPECT_EQ(slurp(dir.file("oci-layout")), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_TRUE(s->read_index());
}

TEST(Store, PutBlobStoresContentUnderItsDigest) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto d = s->put_blob("hello");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, oci::Digest::of("hello"));
  EXPECT_EQ(slurp(s->blob_path(*d)), "hello");
  EXPECT_TRUE(s->has_blob(*d));
  auto back = s->read_blob(*d);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, "hello");
}

// Stage threads commit layers at once: every writer must get its own ingest file (a shared
// random engine once handed two threads the same name, and the second open failed).
TEST(Store, WritersOnManyThreadsGetTheirOwnIngestFiles) {
  TempDir dir;
  auto s = open_store(dir.path());
  constexpr int kThreads = 4, kEach = 300;
  std::vector<std::vector<std::unique_ptr<BlobWriter>>> open(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto w = s->begin_blob();  // kept open, so a repeated name would collide
        if (!w) {
          ++failures;
          continue;
        }
        open[t].push_back(std::move(*w));
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(list_dir(dir.file("ingest")).size(), static_cast<size_t>(kThreads * kEach));
}

TEST(Store, CommitRejectsADigestMismatchAndLeavesNothingBehind) {
  TempDir dir;
  auto s = open_store(dir.path());
  {
    auto w = s->begin_blob();
    ASSERT_TRUE(w) << w.error().message();
    ASSERT_TRUE((*w)->write("actual content"));
    auto c = (*w)->commit(oci::Digest::of("expected content"));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().kind(), ErrorKind::kCorrupt);
    EXPECT_NE(c.error().message().find("digest mismatch"), std::string::npos);
    EXPECT_NE(c.error().message().find(oci::Digest::of("expected content").str()),
              std::string::npos);
  }
  EXPECT_TRUE(list_dir(dir.file("blobs/sha256")).empty());
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
}

TEST(Store, CommitRejectsASizeMismatchAndLeavesNothingBehind) {
  TempDir dir;
  auto s = open_store(dir.path());
  {
    auto w = s->begin_blob();
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write("12345"));
    auto c = (*w)->commit(oci::Digest::of("12345"), 6);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message().find("size mismatch: content is 5 bytes, expected 6"),
              std::string::npos)
        << c.error().message();
  }
  EXPECT_TRUE(list_dir(dir.file("blobs/sha256")).empty());
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
}

TEST(Store, CommitOfABlobAlreadyPresentIsIdempotent) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::string big(3 << 20, 'x');  // larger than the writer's buffer
  for (int i = 0; i < 2; ++i) {
    auto w = s->begin_blob();
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(big));
    auto c = (*w)->commit(oci::Digest::of(big), static_cast<int64_t>(big.size()));
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->first, oci::Digest::of(big));
    EXPECT_EQ(c->second, static_cast<int64_t>(big.size()));
  }
  EXPECT_EQ(list_dir(dir.file("blobs/sha256")),
            std::vector<std::string>{std::string(oci::Digest::of(big).hex())});
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
  EXPECT_EQ(slurp(s->blob_path(oci::Digest::of(big))), big);
}

TEST(Store, DestroyingAnUncommittedWriterRemovesItsIngestFile) {
  TempDir dir;
  auto s = open_store(dir.path());
  {
    auto w = s->begin_blob();
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(std::string(2 << 20, 'y')));
    EXPECT_EQ(list_dir(dir.file("ingest")).size(), 1u);
  }
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
  EXPECT_TRUE(list_dir(dir.file("blobs/sha256")).empty());
}

TEST(Store, ReadBlobDetectsACorruptedBlob) {
  TempDir dir;
  auto s = open_store(dir.path());
  oci::Digest d = *s->put_blob(R"({"some":"config"})");
  testing::flip_byte(s->blob_path(d), 3);
  auto r = s->read_blob(d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find(d.str()), std::string::npos);
  EXPECT_NE(r.error().message().find("does not match its digest"), std::string::npos);
}

TEST(Store, ReadBlobOfAMissingBlobIsNotFound) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto r = s->read_blob(oci::Digest::of("absent"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find(oci::Digest::of("absent").str()), std::string::npos);
}

TEST(Store, UpdateIndexThatFailsLeavesIndexUntouched) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->update_index([](oci::Index& i) -> util::Status {
    i.manifests.push_back(named_descriptor("a:1"));
    return {};
  }));
  std::string before = slurp(dir.file("index.json"));
  auto st = s->update_index([](oci::Index& i) -> util::Status {
    i.manifests.clear();
    return util::fail(ErrorKind::kConflict, "changed my mind");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "changed my mind");
  EXPECT_EQ(slurp(dir.file("index.json")), before);
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
}

// read_index keeps the document it parsed; replacements through another handle, documents of
// the same size written within one clock tick included, are still seen at once.
TEST(Store, ReadIndexSeesEveryReplacementMadeThroughAnotherHandle) {
  TempDir dir;
  auto reader = open_store(dir.path());
  auto writer = open_store(dir.path());
  for (int i = 0; i < 50; ++i) {
    const std::string name = "img:" + std::to_string(10 + i);  // same length each time
    ASSERT_TRUE(writer->update_index([&](oci::Index& idx) -> util::Status {
      idx.manifests = {named_descriptor(name)};
      return {};
    }));
    auto idx = reader->read_index();
    ASSERT_TRUE(idx) << idx.error().message();
    ASSERT_EQ(idx->manifests.size(), 1u);
    EXPECT_EQ(idx->manifests[0].annotations.at(std::string(oci::kRefNameAnnotation)), name);
  }
}

// Someone editing index.json in place (same inode) is seen too.
TEST(Store, ReadIndexSeesAnInPlaceEdit) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->update_index([](oci::Index& i) -> util::Status {
    i.manifests.push_back(named_descriptor("a:1"));
    return {};
  }));
  ASSERT_EQ(s->read_index()->manifests.size(), 1u);
  {
    int fd = ::open(dir.file("index.json").c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    const std::string empty = R"({"schemaVersion":2,"manifests":[]})";
    ASSERT_EQ(::write(fd, empty.data(), empty.size()), static_cast<ssize_t>(empty.size()));
    ::close(fd);
  }
  auto idx = s->read_index();
  ASSERT_TRUE(idx) << idx.error().message();
  EXPECT_TRUE(idx->manifests.empty());
}

TEST(Store, ConcurrentIndexUpdatesFromManyProcessesLoseNoEntry) {
  TempDir dir;
  auto s = open_store(dir.path());
  constexpr int kProcs = 6, kEach = 15;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto mine = Store::open(dir.path());
      if (!mine) ::_exit(10);
      for (int i = 0; i < kEach; ++i) {
        std::string name = "p" + std::to_string(p) + ":" + std::to_string(i);
        auto st = (*mine)->update_index([&](oci::Index& idx) -> util::Status {
          idx.manifests.push_back(named_descriptor(name));
          return {};
        });
        if (!st) ::_exit(11);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  // Meanwhile every read sees a whole index.json, never a partial one.
  int reads = 0;
  for (bool running = true; running; ++reads) {
    auto idx = s->read_index();
    ASSERT_TRUE(idx) << idx.error().message();
    running = idx->manifests.size() < kProcs * kEach && reads < 100000;
  }
  for (pid_t k : kids) EXPECT_EQ(wait_child(k), 0);
  auto idx = s->read_index();
  ASSERT_TRUE(idx);
  std::set<std::string> names;
  for (auto& d : idx->manifests)
    names.insert(d.annotations.at(std::string(oci::kRefNameAnnotation)));
  EXPECT_EQ(names.size(), static_cast<size_t>(kProcs * kEach));
  EXPECT_EQ(idx->manifests.size(), static_cast<size_t>(kProcs * kEach));
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
}

TEST(Store, CleanStaleIngestsRemovesTheFileOfAKilledWriter) {
  TempDir dir;
  auto s = open_store(dir.path());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    auto mine = Store::open(dir.path());
    if (!mine) ::_exit(10);
    auto w = (*mine)->begin_blob();
    if (!w || !(*w)->write(std::string(3 << 20, 'z'))) ::_exit(11);
    if (::write(ready[1], "r", 1) != 1) ::_exit(12);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(list_dir(dir.file("ingest")).size(), 1u);
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_child(pid), -1);
  auto n = s->clean_stale_ingests();
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 1);
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
  EXPECT_TRUE(list_dir(dir.file("blobs/sha256")).empty());
}

TEST(Store, CleanStaleIngestsKeepsTheFileOfALiveWriter) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto other = open_store(dir.path());
  auto w = s->begin_blob();
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(std::string(2 << 20, 'q')));
  auto n = other->clean_stale_ingests();
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(list_dir(dir.file("ingest")).size(), 1u);
  auto c = (*w)->commit();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(s->has_blob(c->first));
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
}

TEST(Store, CleanStaleIngestsRemovesAnIndexTempFileOnlyWhenNoUpdateIsRunning) {
  TempDir dir;
  auto s = open_store(dir.path());
  testing::put_file(dir.file("ingest/index-0123456789abcdef"), "{");
  // While an update holds index.lock its temp file may be in flight: keep it.
  ASSERT_TRUE(s->update_index([&](oci::Index&) -> util::Status {
    auto n = s->clean_stale_ingests();
    EXPECT_TRUE(n && *n == 0);
    return {};
  }));
  EXPECT_EQ(list_dir(dir.file("ingest")), std::vector<std::string>{"index-0123456789abcdef"});
  auto n = s->clean_stale_ingests();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
}

TEST(Store, WritersRacingACleanerNeverLoseTheirIngestFile) {
  // A cleaner may see a new ingest file before its writer has locked it; the writer must then
  // not keep writing into a file the cleaner unlinked.
  TempDir dir;
  auto s = open_store(dir.path());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto mine = Store::open(dir.path());
    if (!mine) ::_exit(10);
    for (int i = 0; i < 3000; ++i) {
      auto w = (*mine)->begin_blob();
      if (!w) ::_exit(11);
      if (!(*w)->write(std::to_string(i))) ::_exit(12);
      if (!(*w)->commit()) ::_exit(13);
    }
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) ASSERT_TRUE(s->clean_stale_ingests());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(list_dir(dir.file("blobs/sha256")).size(), 3000u);
}

}  // namespace
}  // namespace bonsai::store
