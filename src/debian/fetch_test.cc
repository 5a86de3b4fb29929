#include "debian/fetch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "archive/compress.h"
#include "debian/release_test_util.h"
#include "debian/sources.h"
#include "store/test_util.h"
#include "sys/curl_http.h"
#include "sys/fd.h"
#include "sys/loopback_server_test_util.h"
#include "util/sha256.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;

// A mirror on loopback: serves files from a map by path, honours "Range: bytes=N-" unless told
// not to, and records every request ("GET /path" plus " Range: bytes=N-" when there was one).
class FakeMirror {
 public:
  std::string url(const std::string& path = "") const { return server_.url(path); }
  void put(const std::string& path, std::string body) {
    std::lock_guard lock(mu_);
    files_[path] = std::move(body);
  }
  void remove(const std::string& path) {
    std::lock_guard lock(mu_);
    files_.erase(path);
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void clear_requests() {
    std::lock_guard lock(mu_);
    requests_.clear();
  }
  bool ignore_ranges = false;
  // Closes the connection after this many body bytes (a dropped transfer); 0: never.
  size_t cut_after = 0;
  // Sends the body in small pieces with pauses, so that concurrent clients overlap.
  bool slow = false;

 private:
  void respond(int c, const std::string& req) {
    std::string path = req.substr(4, req.find(' ', 4) - 4);
    uint64_t from = 0;
    bool ranged = false;
    if (auto r = req.find("\r\nRange: bytes="); r != std::string::npos) {
      ranged = true;
      from = std::stoull(req.substr(r + 15));
    }
    std::string body, head;
    {
      std::lock_guard lock(mu_);
      requests_.push_back("GET " + path +
                          (ranged ? " Range: bytes=" + std::to_string(from) + "-" : ""));
      auto it = files_.find(path);
      if (it == files_.end()) {
        head = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      } else if (ranged && !ignore_ranges && from < it->second.size()) {
        body = it->second.substr(from);
        head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(from) +
               "-" + std::to_string(it->second.size() - 1) + "/" +
               std::to_string(it->second.size()) + "\r\n";
      } else if (ranged && !ignore_ranges) {
        head = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n\r\n";
      } else {
        body = it->second;
        head = "HTTP/1.1 200 OK\r\n";
      }
      if (!body.empty() || head.starts_with("HTTP/1.1 200"))
        head += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    }
    sys::testing::LoopbackServer::write_all(c, head);
    if (cut_after != 0 && body.size() > cut_after) body.resize(cut_after);
    for (size_t at = 0; at < body.size();) {
      size_t n = slow ? std::min<size_t>(4096, body.size() - at) : body.size() - at;
      sys::testing::LoopbackServer::write_all(c, std::string_view(body).substr(at, n));
      at += n;
      if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  std::mutex mu_;
  std::map<std::string, std::string> files_;
  std::vector<std::string> requests_;
  // Last: it stops (joining its thread) before the files it serves go away.
  sys::testing::LoopbackServer server_{[this](int c, const std::string& req) { respond(c, req); }};
};

std::string content(size_t n, char seed = 'a') {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7 + i / 13) % 26);
  return s;
}

std::string sha(std::string_view s) { return util::Sha256::hex_of(s); }

class FetchVerified : public ::testing::Test {
 protected:
  FetchVerified() { cache_.dir = dir_.file("cache"); }
  Result<std::string> fetch(const std::string& path, std::string_view sha256, uint64_t size) {
    return fetch_verified(http_, cache_, mirror_.url(path), sha256, size);
  }
  std::string partial(std::string_view data) { return cache_.dir + "/partial/" + sha(data); }

  store::testing::TempDir dir_;
  FakeMirror mirror_;
  sys::CurlHttpClient http_;
  DownloadCache cache_;
};

TEST_F(FetchVerified, DownloadsChecksAndCachesByHash) {
  std::string data = content(100000);
  mirror_.put("/pool/a.deb", data);
  auto path = fetch("/pool/a.deb", sha(data), data.size());
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_EQ(*path, cache_.dir + "/sha256/" + sha(data));
  EXPECT_EQ(sys::read_file(*path).value(), data);
  EXPECT_FALSE(sys::exists(partial(data)));

  // The second time it comes from the cache, without a request.
  mirror_.clear_requests();
  auto again = fetch("/pool/a.deb", sha(data), data.size());
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*again, *path);
  EXPECT_TRUE(mirror_.requests().empty());
}

TEST_F(FetchVerified, UppercaseHashNamesTheSameFile) {
  std::string data = content(10);
  mirror_.put("/f", data);
  std::string upper = sha(data);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  auto path = fetch("/f", upper, data.size());
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_EQ(*path, cache_.dir + "/sha256/" + sha(data));
}

TEST_F(FetchVerified, HashMismatchIsCorruptNamingUrlAndBothHashes) {
  std::string good = content(5000), evil = content(5000, 'b');
  mirror_.put("/pool/a.deb", evil);
  auto path = fetch("/pool/a.deb", sha(good), good.size());
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(path.error().message(), "GET " + mirror_.url("/pool/a.deb") +
                                        ": SHA-256 mismatch: expected " + sha(good) + ", got " +
                                        sha(evil));
  EXPECT_FALSE(sys::exists(partial(good)));
  EXPECT_FALSE(sys::exists(cache_.dir + "/sha256/" + sha(good)));
}

TEST_F(FetchVerified, LargerFileStopsAtTheExpectedSize) {
  std::string good = content(5000);
  mirror_.put("/f", good + content(100000));
  auto path = fetch("/f", sha(good), good.size());
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(path.error().message(),
            "GET " + mirror_.url("/f") + ": larger than the expected 5000 bytes");
  EXPECT_FALSE(sys::exists(partial(good)));
}

TEST_F(FetchVerified, SmallerFileIsCorrupt) {
  std::string good = content(5000);
  mirror_.put("/f", good.substr(0, 4000));
  auto path = fetch("/f", sha(good), good.size());
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(path.error().message(), "GET " + mirror_.url("/f") + ": got 4000 bytes, expected 5000");
  EXPECT_FALSE(sys::exists(partial(good)));
}

TEST_F(FetchVerified, ResumesAPartialDownloadWithARange) {
  std::string data = content(200000);
  mirror_.put("/f", data);
  ASSERT_TRUE(sys::mkdir_p(cache_.dir + "/partial"));
  ASSERT_TRUE(sys::write_file_atomic(partial(data), data.substr(0, 100000)));
  auto path = fetch("/f", sha(data), data.size());
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_EQ(sys::read_file(*path).value(), data);
  EXPECT_EQ(mirror_.requests(), std::vector<std::string>{"GET /f Range: bytes=100000-"});
}

TEST_F(FetchVerified, ResumeWorksWhenTheServerIgnoresRanges) {
  std::string data = content(200000);
  mirror_.put("/f", data);
  mirror_.ignore_ranges = true;
  ASSERT_TRUE(sys::mkdir_p(cache_.dir + "/partial"));
  ASSERT_TRUE(sys::write_file_atomic(partial(data), data.substr(0, 100000)));
  auto path = fetch("/f", sha(data), data.size());
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_EQ(sys::read_file(*path).value(), data);
}

TEST_F(FetchVerified, AStalePartialIsDroppedAndTheDownloadRestarted) {
  std::string data = content(200000);
  mirror_.put("/f", data);
  ASSERT_TRUE(sys::mkdir_p(cache_.dir + "/partial"));
  ASSERT_TRUE(sys::write_file_atomic(partial(data), content(100000, 'q')));
  auto path = fetch("/f", sha(data), data.size());
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_EQ(sys::read_file(*path).value(), data);
  EXPECT_EQ(mirror_.requests(),
            (std::vector<std::string>{"GET /f Range: bytes=100000-", "GET /f"}));
}

TEST_F(FetchVerified, ADroppedTransferIsResumedWhileItMakesProgress) {
  std::string data = content(300000);
  mirror_.put("/f", data);
  mirror_.cut_after = 120000;
  auto got = fetch("/f", sha(data), data.size());
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(sys::read_file(*got).value(), data);
  EXPECT_EQ(mirror_.requests(), (std::vector<std::string>{"GET /f", "GET /f Range: bytes=120000-",
                                                          "GET /f Range: bytes=240000-"}));
}

TEST_F(FetchVerified, ATransferDroppedTooOftenKeepsItsBytesForTheNextFetch) {
  std::string data = content(300000);
  mirror_.put("/f", data);
  mirror_.cut_after = 1000;
  auto first = fetch("/f", sha(data), data.size());
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().kind(), ErrorKind::kIo) << first.error().message();
  EXPECT_EQ(mirror_.requests().size(), 4u);  // the first request and three resumes
  struct stat st;
  ASSERT_EQ(::stat(partial(data).c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
  EXPECT_LE(st.st_size, 4000);

  mirror_.cut_after = 0;
  mirror_.clear_requests();
  auto second = fetch("/f", sha(data), data.size());
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(sys::read_file(*second).value(), data);
  EXPECT_EQ(mirror_.requests(),
            std::vector<std::string>{"GET /f Range: bytes=" + std::to_string(st.st_size) + "-"});
}

TEST_F(FetchVerified, ACompletePartialIsPublishedWithoutARequest) {
  std::string data = content(1000);
  ASSERT_TRUE(sys::mkdir_p(cache_.dir + "/partial"));
  ASSERT_TRUE(sys::write_file_atomic(partial(data), data));
  auto path = fetch("/nowhere", sha(data), data.size());
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_TRUE(mirror_.requests().empty());
}

TEST_F(FetchVerified, ConcurrentFetchesOfOneFileDownloadItOnce) {
  std::string data = content(400000);
  mirror_.put("/f", data);
  mirror_.slow = true;
  std::vector<std::thread> threads;
  std::vector<Result<std::string>> results(4, std::string());
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      sys::CurlHttpClient http;  // one per thread, as separate processes would have
      results[i] = fetch_verified(http, cache_, mirror_.url("/f"), sha(data), data.size());
    });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, cache_.dir + "/sha256/" + sha(data));
  }
  EXPECT_EQ(sys::read_file(*results[0]).value(), data);
  EXPECT_EQ(mirror_.requests().size(), 1u);
  EXPECT_FALSE(sys::exists(partial(data)));
}

TEST_F(FetchVerified, ReverifyReplacesACorruptedCacheFile) {
  std::string data = content(1000);
  mirror_.put("/f", data);
  ASSERT_TRUE(fetch("/f", sha(data), data.size()));
  std::string cached = cache_.dir + "/sha256/" + sha(data);
  ASSERT_TRUE(sys::write_file_atomic(cached, content(1000, 'z')));
  cache_.reverify = true;
  auto path = fetch("/f", sha(data), data.size());
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_EQ(sys::read_file(*path).value(), data);
}

TEST_F(FetchVerified, ACachedFileOfTheWrongSizeIsFetchedAgain) {
  std::string data = content(1000);
  mirror_.put("/f", data);
  ASSERT_TRUE(sys::mkdir_p(cache_.dir + "/sha256"));
  ASSERT_TRUE(sys::write_file_atomic(cache_.dir + "/sha256/" + sha(data), "short"));
  auto path = fetch("/f", sha(data), data.size());
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_EQ(sys::read_file(*path).value(), data);
}

TEST_F(FetchVerified, MalformedHashIsInvalidArgument) {
  auto path = fetch("/f", "../../etc/passwd", 10);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::kInvalidArgument);
}

// --- load_packages against a fake signed repository ------------------------------------------

struct Key {
  testing::GpgHome home;
  std::string keyring;
  Key() {
    home.generate("archive@example.com");
    keyring = home.dir() + "/archive.gpg";
    home.export_keyring({"archive@example.com"}, keyring);
  }
};

Key& key() {
  static Key k;
  return k;
}

std::string gzip(std::string_view data) {
  util::StringWriter out;
  auto w = archive::gzip_writer(out, {.threads = 1}).value();
  EXPECT_TRUE(w->write(data));
  EXPECT_TRUE(w->close());
  return out.str();
}

std::string package_paragraph(const std::string& name, const std::string& deb) {
  return "Package: " + name + "\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: T <t@x>\n" +
         "Depends: libc6 (>= 2.36)\nFilename: pool/main/" + name + "/" + name +
         "_1.0-1_amd64.deb\nSize: " + std::to_string(deb.size()) + "\nSHA256: " + sha(deb) +
         "\nDescription: test package\n multi-line\n .\n description\n\n";
}

// A repository with one suite (bookworm), components main and contrib, amd64.
class FakeRepo : public ::testing::Test {
 protected:
  FakeRepo() { cache_.dir = dir_.file("cache"); }

  // lie_about_plain: the Release gives a wrong hash for the uncompressed Packages.
  void publish(bool by_hash = true, const std::string& codename = "bookworm",
               bool lie_about_plain = false) {
    std::string release = "Origin: Test\nSuite: stable\nCodename: " + codename +
                          "\nDate: Sat, 11 Jul 2026 10:16:37 UTC\n" +
                          (by_hash ? "Acquire-By-Hash: yes\n" : "") +
                          "Architectures: amd64\nComponents: main contrib\nSHA256:\n";
    for (const auto& [component, packages] : components_) {
      std::string dir = component + "/binary-amd64/";
      std::string gz = gzip(packages);
      for (const auto& [name, data] :
           std::map<std::string, std::string>{{"Packages", packages}, {"Packages.gz", gz}}) {
        std::string listed = lie_about_plain && name == "Packages" ? sha(data + "x") : sha(data);
        release += " " + listed + " " + std::to_string(data.size()) + " " + dir + name + "\n";
        if (name == "Packages") continue;  // Debian lists it but does not serve it
        mirror_.put("/debian/dists/bookworm/" + dir + name, data);
        mirror_.put("/debian/dists/bookworm/" + dir + "by-hash/SHA256/" + sha(data), data);
      }
    }
    mirror_.put("/debian/dists/bookworm/InRelease",
                key().home.clearsign(release, {"archive@example.com"}));
  }

  Result<PackageIndex> load(const std::vector<std::string>& components = {"main"}) {
    return load_packages(http_, cache_, mirror_.url("/debian/"), "bookworm", components, "amd64",
                         {key().keyring});
  }

  std::string deb_a_ = content(3000, 'd'), deb_b_ = content(4000, 'e');
  std::map<std::string, std::string> components_ = {
      {"main", package_paragraph("alpha", deb_a_) + package_paragraph("beta", deb_b_)},
      {"contrib", package_paragraph("gamma", deb_a_)}};
  store::testing::TempDir dir_;
  FakeMirror mirror_;
  sys::CurlHttpClient http_;
  DownloadCache cache_;
};

TEST_F(FakeRepo, LoadsTheVerifiedIndexByHash) {
  publish();
  auto index = load({"main", "contrib"});
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(index->release.codename, "bookworm");
  EXPECT_FALSE(index->release_from_cache);
  ASSERT_EQ(index->packages.size(), 3u);
  const Package& a = index->packages[0];
  EXPECT_EQ(a.name, "alpha");
  EXPECT_EQ(a.version, "1.0-1");
  EXPECT_EQ(a.depends, "libc6 (>= 2.36)");
  EXPECT_EQ(a.filename, "pool/main/alpha/alpha_1.0-1_amd64.deb");
  EXPECT_EQ(a.sha256, sha(deb_a_));
  EXPECT_EQ(a.suite, "bookworm");
  EXPECT_EQ(a.mirror, mirror_.url("/debian"));
  EXPECT_EQ(index->packages[2].name, "gamma");
  const ReleaseFile* gz = index->release.find("main/binary-amd64/Packages.gz");
  ASSERT_NE(gz, nullptr);
  std::vector<std::string> expected = {
      "GET /debian/dists/bookworm/InRelease",
      "GET /debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/" + gz->sha256,
      "GET /debian/dists/bookworm/contrib/binary-amd64/by-hash/SHA256/" +
          index->release.find("contrib/binary-amd64/Packages.gz")->sha256};
  EXPECT_EQ(mirror_.requests(), expected);
}

TEST_F(FakeRepo, ASecondLoadReadsTheDecompressedIndexFromTheCache) {
  publish();
  ASSERT_TRUE(load());
  std::string plain = cache_.dir + "/sha256/" + sha(components_["main"]);
  EXPECT_EQ(sys::read_file(plain).value(), components_["main"]);
  mirror_.clear_requests();
  auto index = load();
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(index->packages.size(), 2u);
  EXPECT_EQ(mirror_.requests(), std::vector<std::string>{"GET /debian/dists/bookworm/InRelease"});
}

TEST_F(FakeRepo, AnIndexThatDecompressesToOtherThanTheReleaseSaysIsRejected) {
  publish(true, "bookworm", /*lie_about_plain=*/true);
  auto index = load();
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(index.error().message().find("main/binary-amd64/Packages.gz: decompresses to"),
            std::string::npos)
      << index.error().message();
}

TEST_F(FakeRepo, UsesThePlainPathWithoutAcquireByHash) {
  publish(/*by_hash=*/false);
  auto index = load();
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(mirror_.requests().back(), "GET /debian/dists/bookworm/main/binary-amd64/Packages.gz");
}

TEST_F(FakeRepo, FallsBackToThePlainPathWhenByHashIsMissing) {
  publish();
  std::string gz = gzip(components_["main"]);
  mirror_.remove("/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/" + sha(gz));
  auto index = load();
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(index->packages.size(), 2u);
  EXPECT_EQ(mirror_.requests().back(), "GET /debian/dists/bookworm/main/binary-amd64/Packages.gz");
}

TEST_F(FakeRepo, TamperedPackagesIsRejectedNamingTheFile) {
  publish(/*by_hash=*/false);
  std::string evil = gzip(components_["main"]);
  evil[evil.size() / 2] ^= 1;
  mirror_.put("/debian/dists/bookworm/main/binary-amd64/Packages.gz", evil);
  auto index = load();
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(index.error().message().find("dists/bookworm/main/binary-amd64/Packages.gz: GET " +
                                         mirror_.url("/debian/dists/bookworm/main/binary-amd64/"
                                                     "Packages.gz")),
            std::string::npos)
      << index.error().message();
  EXPECT_NE(index.error().message().find("got " + sha(evil)), std::string::npos);
}

TEST_F(FakeRepo, TamperedInReleaseIsRejected) {
  publish();
  std::string doc = key().home.clearsign("Codename: bookworm\nSHA256:\n", {"archive@example.com"});
  auto at = doc.find("Codename: bookworm");
  doc.replace(at, 18, "Codename: bookwor2");
  mirror_.put("/debian/dists/bookworm/InRelease", doc);
  auto index = load();
  ASSERT_FALSE(index);
  EXPECT_NE(index.error().message().find("InRelease: bad signature"), std::string::npos)
      << index.error().message();
}

TEST_F(FakeRepo, AReleaseOfAnotherSuiteIsRejected) {
  publish(true, "trixie");
  auto index = load();
  ASSERT_FALSE(index);
  EXPECT_NE(index.error().message().find("not of \"bookworm\""), std::string::npos)
      << index.error().message();
}

TEST_F(FakeRepo, AMissingComponentIsNotFound) {
  publish();
  auto index = load({"non-free"});
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(index.error().message().find("non-free/binary-amd64/Packages"), std::string::npos);
}

TEST_F(FakeRepo, TamperedDebIsRejected) {
  publish();
  auto index = load();
  ASSERT_TRUE(index) << index.error().message();
  const Package& a = index->packages[0];
  mirror_.put("/debian/" + a.filename, content(a.size, 'x'));
  auto deb = fetch_verified(http_, cache_, a.mirror + "/" + a.filename, a.sha256, a.size);
  ASSERT_FALSE(deb);
  EXPECT_EQ(deb.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(deb.error().message().find(a.filename), std::string::npos);

  mirror_.put("/debian/" + a.filename, deb_a_);
  deb = fetch_verified(http_, cache_, a.mirror + "/" + a.filename, a.sha256, a.size);
  ASSERT_TRUE(deb) << deb.error().message();
}

// A network that is down.
class OfflineHttp final : public util::HttpClient {
 public:
  Result<util::HttpResponse> get(const util::HttpRequest& request, util::Writer&) override {
    ++calls;
    retries.push_back(request.retries);
    return util::fail(ErrorKind::kIo, "GET " + request.url + ": Could not connect to server");
  }
  int calls = 0;
  std::vector<int> retries;  // HttpRequest::retries of each call
};

TEST_F(FakeRepo, OfflineRerunUsesTheLastVerifiedRelease) {
  publish();
  ASSERT_TRUE(load());
  OfflineHttp offline;
  auto index = load_packages(offline, cache_, mirror_.url("/debian"), "bookworm", {"main"}, "amd64",
                             {key().keyring});
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_TRUE(index->release_from_cache);
  EXPECT_EQ(index->packages.size(), 2u);
  EXPECT_EQ(offline.calls, 1);  // the InRelease only; Packages came from the cache
  // With a verified copy to fall back on, a failure is not worth seconds of retries.
  EXPECT_EQ(offline.retries, std::vector<int>{0});

  auto strict = load_packages(offline, cache_, mirror_.url("/debian"), "bookworm", {"main"},
                              "amd64", {key().keyring}, {.offline_fallback = false});
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().kind(), ErrorKind::kIo);
  EXPECT_EQ(offline.retries.back(), util::HttpRequest{}.retries);  // no fallback: retried
}

TEST_F(FakeRepo, OfflineWithoutASavedReleaseFails) {
  OfflineHttp offline;
  auto index = load_packages(offline, cache_, mirror_.url("/debian"), "bookworm", {"main"}, "amd64",
                             {key().keyring});
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().kind(), ErrorKind::kIo);
}

// The real bookworm main index from the host's mirror, timed. Downloads ~12 MB, so it only runs
// on request: --gtest_also_run_disabled_tests --gtest_filter='*RealBookworm*'.
TEST(LoadPackages, DISABLED_RealBookwormMainFromTheHostMirror) {
  std::string mirror = "http://deb.debian.org/debian";
  if (auto host = read_host_sources(); host) {
    if (auto m = debian_mirror(*host, "bookworm")) mirror = m->uri;
  }
  store::testing::TempDir dir;
  sys::CurlHttpClient http;
  DownloadCache cache{dir.file("cache")};
  for (int run = 0; run < 2; ++run) {  // first: download and parse; second: cached, parse only
    auto start = std::chrono::steady_clock::now();
    auto index = load_packages(http, cache, mirror, "bookworm", {"main"}, "amd64",
                               {std::string(kDebianArchiveKeyring)});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    ASSERT_TRUE(index) << index.error().message();
    EXPECT_GT(index->packages.size(), 60000u);
    std::cout << (run == 0 ? "download + load" : "cached load") << ": " << index->packages.size()
              << " packages from " << mirror << " in " << ms << " ms\n";
  }
}

}  // namespace
}  // namespace bonsai::debian
