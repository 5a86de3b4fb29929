// ADD <git ref>: the source syntax in memory, then resolving and fetching against real servers
// on loopback: `git daemon` (the git:// protocol, v2) and a dumb HTTP server, both serving bare
// repositories made here with commits, an annotated and a lightweight tag, branches, a submodule,
// an executable file and symlinks.
#include "build/add_git.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "sys/loopback_server_test_util.h"
#include "sys/process.h"

namespace bonsai::build {
namespace {

namespace fs = std::filesystem;
using util::ErrorKind;

#define ASSERT_OK(expr)                                    \
  do {                                                     \
    auto ok_ = (expr);                                     \
    ASSERT_TRUE(ok_.has_value()) << ok_.error().message(); \
  } while (0)

GitSource parsed(std::string_view text) {
  auto g = parse_git_source(text);
  EXPECT_TRUE(g) << text << ": " << g.error().message();
  return g ? *g : GitSource{};
}

std::string parse_error(std::string_view text) {
  auto g = parse_git_source(text);
  EXPECT_FALSE(g) << text << " was accepted";
  if (g) return "";
  EXPECT_EQ(g.error().kind(), ErrorKind::kInvalidArgument) << g.error().message();
  return g.error().message();
}

// ---- Syntax --------------------------------------------------------------------------------

TEST(GitSourceSyntax, RecognisesTheFormsBuildKitTreatsAsGit) {
  for (const char* s :
       {"https://github.com/moby/buildkit.git", "https://github.com/moby/buildkit.git#v0.10.1",
        "http://127.0.0.1:8080/repo.git?ref=main", "HTTPS://host/x.git#main:docs",
        "git://host/path/repo", "ssh://git@host:2222/repo.git",
        "git@github.com:moby/buildkit.git#v0.14.1:docs", "me@host:repo", "-x@host:repo",
        "ssh://-oProxyCommand=x/repo.git"})
    EXPECT_TRUE(is_git_source(s)) << s;
}

TEST(GitSourceSyntax, LeavesPlainUrlsAndLocalPathsAlone) {
  for (const char* s :
       {"https://example.com/archive.tar.gz", "https://host/repo.git/", "https://host.git",
        "http://host/x.git.txt#y.git", "ftp://host/x.git", "file:///tmp/x.git",
        "github.com/moby/buildkit", "./x.git", "../x.git", "repo.git", "host:path", "a/b@host:path",
        "@host:path", "user@:path", "user@host", ""})
    EXPECT_FALSE(is_git_source(s)) << s;
}

TEST(GitSourceSyntax, SplitsRemoteRefAndSubdirFromTheFragment) {
  struct Case {
    const char* text;
    const char* remote;
    const char* ref;
    const char* subdir;
  };
  const Case cases[] = {
      {"https://github.com/moby/buildkit.git#v0.10.1", "https://github.com/moby/buildkit.git",
       "v0.10.1", ""},
      {"https://host/repo.git", "https://host/repo.git", "", ""},
      {"https://host/repo.git#", "https://host/repo.git", "", ""},
      {"https://host/repo.git#:", "https://host/repo.git", "", ""},
      {"https://host/repo.git#:myfolder", "https://host/repo.git", "", "myfolder"},
      {"https://host/repo.git#master:myfolder", "https://host/repo.git", "master", "myfolder"},
      {"https://host/repo.git#pull/42/head", "https://host/repo.git", "pull/42/head", ""},
      {"https://host/repo.git#main:/docs/./api/", "https://host/repo.git", "main", "docs/api"},
      {"https://host/repo.git#rel%2F1", "https://host/repo.git", "rel/1", ""},
      {"git@github.com:moby/buildkit.git#v0.14.1:docs", "git@github.com:moby/buildkit.git",
       "v0.14.1", "docs"},
      {"git://127.0.0.1:9418/repo.git#refs/tags/v1", "git://127.0.0.1:9418/repo.git",
       "refs/tags/v1", ""},
      {"ssh://git@host:2222/x.git#dev:a/b", "ssh://git@host:2222/x.git", "dev", "a/b"},
      {"https://host/repo.git#D4F088E689B41353D74F1A0BFCD6D7C0B213AED2", "https://host/repo.git",
       "d4f088e689b41353d74f1a0bfcd6d7c0b213aed2", ""},
  };
  for (const auto& c : cases) {
    GitSource g = parsed(c.text);
    EXPECT_EQ(g.remote, c.remote) << c.text;
    EXPECT_EQ(g.ref, c.ref) << c.text;
    EXPECT_EQ(g.subdir, c.subdir) << c.text;
    EXPECT_EQ(g.display, c.text);
    EXPECT_EQ(g.checksum, "") << c.text;
    EXPECT_FALSE(g.keep_git_dir.has_value()) << c.text;
    EXPECT_TRUE(g.submodules) << c.text;
  }
}

TEST(GitSourceSyntax, ReadsTheQueryForm) {
  const std::string sha = "d4f088e689b41353d74f1a0bfcd6d7c0b213aed2";
  GitSource g = parsed("https://host/repo.git?branch=container&subdir=docker");
  EXPECT_EQ(g.remote, "https://host/repo.git");
  EXPECT_EQ(g.ref, "refs/heads/container");
  EXPECT_EQ(g.subdir, "docker");
  EXPECT_EQ(parsed("https://host/repo.git?tag=mytag").ref, "refs/tags/mytag");
  EXPECT_EQ(parsed("https://host/repo.git?tag=refs/tags/mytag").ref, "refs/tags/mytag");
  EXPECT_EQ(parsed("https://host/repo.git?ref=pull/42/head").ref, "pull/42/head");
  EXPECT_EQ(parsed("https://host/repo.git?ref=main#main").ref, "main");
  EXPECT_EQ(parsed("git@host:x.git?subdir=a%20b+c").subdir, "a b c");
  g = parsed("https://host/repo.git?tag=v1&checksum=BE1F38E");
  EXPECT_EQ(g.ref, "refs/tags/v1");
  EXPECT_EQ(g.checksum, "be1f38e");
  g = parsed("https://host/repo.git?commit=" + sha);
  EXPECT_EQ(g.ref, sha);
  EXPECT_EQ(g.checksum, sha);
  EXPECT_EQ(parsed("https://host/repo.git?keep-git-dir").keep_git_dir, true);
  EXPECT_EQ(parsed("https://host/repo.git?keep-git-dir=true").keep_git_dir, true);
  EXPECT_EQ(parsed("https://host/repo.git?keep-git-dir=0").keep_git_dir, false);
  EXPECT_FALSE(parsed("https://host/repo.git?submodules=false").submodules);
  EXPECT_TRUE(parsed("https://host/repo.git?submodules").submodules);
}

TEST(GitSourceSyntax, HidesAUrlPasswordInMessagesButFetchesWithIt) {
  GitSource g = parsed("https://user:s3cret@host/repo.git?ref=main#main");
  EXPECT_EQ(g.display, "https://user:xxxxx@host/repo.git?ref=main#main");
  EXPECT_EQ(g.remote, "https://user:s3cret@host/repo.git");
  std::string error = parse_error("https://user:s3cret@host/repo.git#-x");
  EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
}

TEST(GitSourceSyntax, RefusesWhatGitWouldReadAsAnOption) {
  EXPECT_NE(parse_error("https://host/repo.git#-oProxyCommand=touch /tmp/x")
                .find("invalid ref \"-oProxyCommand=touch /tmp/x\""),
            std::string::npos);
  EXPECT_NE(parse_error("https://host/repo.git#--upload-pack=touch")
                .find("a ref must not begin with '-'"),
            std::string::npos);
  EXPECT_NE(parse_error("https://host/repo.git?ref=--upload-pack=x").find("must not begin"),
            std::string::npos);
  EXPECT_NE(parse_error("ssh://-oProxyCommand=x/repo.git").find("beginning with '-'"),
            std::string::npos);
  EXPECT_NE(parse_error("ssh://-u@host/repo.git").find("beginning with '-'"), std::string::npos);
  EXPECT_NE(parse_error("-oProxyCommand@host:repo").find("beginning with '-'"), std::string::npos);
}

TEST(GitSourceSyntax, RefusesMalformedSources) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"https://host/repo.git?ref=", "query \"ref\" has no value"},
      {"https://host/repo.git?branch=", "query \"branch\" has no value"},
      {"https://host/repo.git?ref=a&ref=b", "query \"ref\" has multiple values"},
      {"https://host/repo.git?ref=a#b", "ref conflicts: \"b\" vs \"a\""},
      {"https://host/repo.git?subdir=a#:b", "subdir conflicts"},
      {"https://host/repo.git?tag=a&branch=b", "branch conflicts with tag"},
      {"https://host/repo.git?tag=a#b", "ref conflicts"},
      {"https://host/repo.git?depth=1", "unexpected query \"depth\""},
      {"https://host/repo.git?keep-git-dir=maybe", "invalid keep-git-dir value"},
      {"https://host/repo.git?ref=a;b", "invalid ';'"},
      {"https://host/repo.git?ref=%zz", "invalid %-escape"},
      {"https://host/repo.git#%zz", "invalid %-escape"},
      {"https://host/repo.git?checksum=xyz", "invalid checksum \"xyz\""},
      {"https://host/repo.git#main:../etc", "must not contain \"..\""},
      {"https://host/repo.git#main:a/../../b", "must not contain \"..\""},
      {"https://host/repo.git#a..b", "not a valid git ref name"},
      {"https://host/repo.git#a b", "must not contain spaces"},
      {"https://host/repo.git#v1^{}", "must not contain"},
      {"https://host/repo.git#v*", "must not contain"},
      {"https://host/repo.git#main~1", "must not contain"},
      {"https://host/repo.git#heads/", "not a valid git ref name"},
      {"https://host/repo.git#x.lock", "not a valid git ref name"},
      {"https://host/repo.git#@{1}", "not a valid git ref name"},
      {"https:///repo.git", "no host"},
  };
  for (const auto& c : cases) {
    std::string error = parse_error(c.text);
    EXPECT_TRUE(error.starts_with("ADD " + std::string(c.text) + ": ")) << error;
    EXPECT_NE(error.find(c.message), std::string::npos) << c.text << ": " << error;
  }
  EXPECT_NE(parse_error("https://example.com/x.tgz").find("not a git repository URL"),
            std::string::npos);
}

TEST(GitSourceSyntax, AddFlagsMergeWithTheQueryButMayNotContradictIt) {
  GitSource g = parsed("https://host/repo.git#v1");
  ASSERT_OK(apply_add_flags(g, "BE1F38E", true));
  EXPECT_EQ(g.checksum, "be1f38e");
  EXPECT_EQ(g.ref, "v1");  // a --checksum does not become the ref
  EXPECT_EQ(g.keep_git_dir, true);

  g = parsed("https://host/repo.git#v1");
  ASSERT_OK(apply_add_flags(g, "", false));
  EXPECT_FALSE(g.keep_git_dir.has_value());
  EXPECT_EQ(g.checksum, "");

  g = parsed("https://host/repo.git?checksum=abc");
  ASSERT_OK(apply_add_flags(g, "ABC", false));
  auto st = apply_add_flags(g, "abd", false);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("conflicts with the URL's checksum abc"), std::string::npos);

  g = parsed("https://host/repo.git?keep-git-dir=false");
  st = apply_add_flags(g, "", true);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("--keep-git-dir conflicts"), std::string::npos);

  g = parsed("https://host/repo.git");
  st = apply_add_flags(g, "sha256:abc", false);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(st.error().message().find("hex commit name"), std::string::npos);
}

TEST(GitSourceSyntax, CacheContentIsTheCommitSubdirAndOptions) {
  GitRevision rev{"d4f088e689b41353d74f1a0bfcd6d7c0b213aed2", "refs/heads/main"};
  std::string plain = git_cache_content(parsed("https://a/x.git#main"), rev);
  EXPECT_NE(plain.find(rev.commit), std::string::npos);
  // Another remote or ref naming the same commit gives the same files.
  EXPECT_EQ(git_cache_content(parsed("git://b/y.git#refs/heads/main"), rev), plain);
  EXPECT_NE(git_cache_content(parsed("https://a/x.git#main:docs"), rev), plain);
  EXPECT_NE(git_cache_content(parsed("https://a/x.git?ref=main&submodules=false"), rev), plain);
  std::string kept = git_cache_content(parsed("https://a/x.git?ref=main&keep-git-dir"), rev);
  EXPECT_NE(kept, plain);
  EXPECT_NE(git_cache_content(parsed("git://b/y.git?ref=main&keep-git-dir"), rev), kept);
  GitRevision other{"e4f088e689b41353d74f1a0bfcd6d7c0b213aed2", "refs/heads/main"};
  EXPECT_NE(git_cache_content(parsed("https://a/x.git#main"), other), plain);
}

// ---- Against servers -----------------------------------------------------------------------

// A scratch directory removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "bonsai-git-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A TCP port nothing listens on (at the time of asking).
int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

uint32_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0xffffffff;
  return st.st_mode & 07777;
}

// Every path below root named .git, relative to root.
std::vector<std::string> git_dirs_below(const std::string& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it)
    if (it->path().filename() == ".git") out.push_back(fs::relative(it->path(), root).string());
  return out;
}

// Repositories served for the whole suite: srv/repo.git and srv/sub.git over git:// (git daemon)
// and dumb HTTP. repo.git's history:
//   first  (tags v1 annotated, light, same)  README "one"
//   main   README "two", tools/run.sh (executable), docs/guide.md, docs/inner/x.txt,
//          docs/up -> ../README, link -> README, abs -> /etc/passwd, docs_link -> docs,
//          submodule mod (../sub.git: s.txt)
//   dev    (branches dev, same) main + dev.txt
class AddGit : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setting_up_ = true;
    base_ = std::make_unique<TempDir>();
    srv_ = base_->path() + "/srv";
    fs::create_directories(base_->path() + "/home");
    build_repositories();
    if (!ready_) return;
    start_git_daemon();
    if (!ready_) return;
    http_ = std::make_unique<sys::testing::LoopbackServer>(serve_file);
    setting_up_ = false;
  }

  static void TearDownTestSuite() {
    http_.reset();
    // The daemon is our child (run_process in daemon_thread_); stop it by the pid it wrote.
    std::string pid = read_text(base_->path() + "/daemon.pid");
    if (!pid.empty()) ::kill(std::stoi(pid), SIGTERM);
    if (daemon_thread_.joinable()) daemon_thread_.join();
    base_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(ready_) << "the repositories or servers could not be set up";
  }

  static std::vector<std::string> env() {
    return {"HOME=" + base_->path() + "/home",
            "PATH=" + std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
            "GIT_CONFIG_NOSYSTEM=1",
            "LC_ALL=C",
            "GIT_AUTHOR_NAME=t",
            "GIT_AUTHOR_EMAIL=t@example.com",
            "GIT_COMMITTER_NAME=t",
            "GIT_COMMITTER_EMAIL=t@example.com",
            "GIT_AUTHOR_DATE=2024-01-01T00:00:00Z",
            "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z"};
  }

  // Runs git in dir for the fixture; returns its stdout, trimmed.
  static std::string git(const std::string& dir, std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-c", "protocol.file.allow=always", "-C", dir};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = sys::run_process({.argv = argv, .env = env()});
    if (!r || !r->succeeded()) {
      if (setting_up_) ready_ = false;
      ADD_FAILURE() << "git " << args.front() << " in " << dir << ": "
                    << (r ? r->stderr_data : r.error().message());
      return "";
    }
    std::string out = r->stdout_data;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }

  static void build_repositories() {
    // The submodule's repository.
    const std::string subwork = srv_ + "/subwork", work = srv_ + "/work";
    fs::create_directories(subwork);
    git(subwork, {"init", "-q", "-b", "main"});
    write_text(subwork + "/s.txt", "sub\n");
    git(subwork, {"add", "."});
    git(subwork, {"commit", "-q", "-m", "sub"});
    git(srv_, {"clone", "-q", "--bare", "subwork", "sub.git"});

    // first: README "one", tagged.
    fs::create_directories(work);
    git(work, {"init", "-q", "-b", "main"});
    write_text(work + "/README", "one\n");
    git(work, {"add", "."});
    git(work, {"commit", "-q", "-m", "first"});
    first_ = git(work, {"rev-parse", "HEAD"});
    git(work, {"tag", "-a", "-m", "version 1", "v1"});
    git(work, {"tag", "light"});
    git(work, {"tag", "same"});
    v1_object_ = git(work, {"rev-parse", "v1"});

    // main: files, symlinks and the submodule.
    write_text(work + "/README", "two\n");
    write_text(work + "/tools/run.sh", "#!/bin/sh\necho hi\n");
    fs::permissions(work + "/tools/run.sh", fs::perms(0755));
    write_text(work + "/docs/guide.md", "guide\n");
    write_text(work + "/docs/inner/x.txt", "x\n");
    fs::create_symlink("../README", work + "/docs/up");
    fs::create_symlink("README", work + "/link");
    fs::create_symlink("/etc/passwd", work + "/abs");
    fs::create_symlink("docs", work + "/docs_link");
    git(work, {"submodule", "add", "-q", "../sub.git", "mod"});
    git(work, {"add", "."});
    git(work, {"commit", "-q", "-m", "main"});
    main_ = git(work, {"rev-parse", "HEAD"});

    // dev: one more file, also as the branch "same" (a tag has that name too).
    git(work, {"checkout", "-q", "-b", "dev"});
    write_text(work + "/dev.txt", "dev\n");
    git(work, {"add", "."});
    git(work, {"commit", "-q", "-m", "dev"});
    dev_ = git(work, {"rev-parse", "HEAD"});
    git(work, {"branch", "same"});
    git(work, {"checkout", "-q", "main"});

    git(srv_, {"clone", "-q", "--bare", "work", "repo.git"});
    git(srv_ + "/repo.git", {"update-server-info"});
    git(srv_ + "/sub.git", {"update-server-info"});
  }

  static void start_git_daemon() {
    git_port_ = unused_port();
    std::vector<std::string> argv = {"git",
                                     "daemon",
                                     "--reuseaddr",
                                     "--export-all",
                                     "--base-path=" + srv_,
                                     "--listen=127.0.0.1",
                                     "--port=" + std::to_string(git_port_),
                                     "--pid-file=" + base_->path() + "/daemon.pid"};
    daemon_thread_ = std::thread(
        [argv] { (void)sys::run_process({.argv = argv, .env = env(), .timeout_seconds = 600}); });
    for (int i = 0; i < 200 && !accepts_connections(git_port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (!accepts_connections(git_port_)) {
      ready_ = false;
      ADD_FAILURE() << "git daemon did not start on port " << git_port_;
    }
  }

  // A dumb HTTP server: GET of a file under srv_, the query ignored.
  static void serve_file(int fd, const std::string& head) {
    std::string path = head.substr(0, head.find("\r\n"));
    path = path.starts_with("GET ") ? path.substr(4, path.find(' ', 4) - 4) : "";
    path = path.substr(0, path.find('?'));
    std::string file = srv_ + path;
    std::string reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (!path.empty() && path.find("..") == std::string::npos && fs::is_regular_file(file)) {
      std::string body = read_text(file);
      reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nConnection: close\r\n\r\n" + body;
    }
    sys::testing::LoopbackServer::write_all(fd, reply);
  }

  static std::string git_url(const std::string& suffix = "") {
    return "git://127.0.0.1:" + std::to_string(git_port_) + "/repo.git" + suffix;
  }

  static util::Result<GitRevision> resolve(const std::string& text) {
    auto g = parse_git_source(text);
    if (!g) return std::unexpected(g.error());
    return resolve_git_revision(*g);
  }

  // Parses, resolves and fetches into dir_.
  util::Result<GitCheckout> fetch(const std::string& text, bool keep_git_dir = false) {
    auto g = TRY(parse_git_source(text));
    TRY(apply_add_flags(g, "", keep_git_dir));
    auto rev = TRY(resolve_git_revision(g));
    return fetch_git(g, rev, dir_.path());
  }

  static inline std::unique_ptr<TempDir> base_;
  static inline std::string srv_, first_, v1_object_, main_, dev_;
  static inline int git_port_ = 0;
  static inline bool ready_ = true, setting_up_ = false;
  static inline std::thread daemon_thread_;
  static inline std::unique_ptr<sys::testing::LoopbackServer> http_;
  TempDir dir_;
};

TEST_F(AddGit, ResolvesABranch) {
  auto rev = resolve(git_url("#dev"));
  ASSERT_OK(rev);
  EXPECT_EQ(rev->commit, dev_);
  EXPECT_EQ(rev->ref, "refs/heads/dev");
}

TEST_F(AddGit, ResolvesTheRemoteHeadWhenNoRefIsGiven) {
  for (std::string suffix : {"", "#", "#:docs"}) {
    auto rev = resolve(git_url(suffix));
    ASSERT_OK(rev);
    EXPECT_EQ(rev->commit, main_) << suffix;
    EXPECT_EQ(rev->ref, "refs/heads/main") << suffix;
  }
}

TEST_F(AddGit, ResolvesAnAnnotatedTagToItsCommit) {
  ASSERT_NE(v1_object_, first_);  // v1 is a tag object
  for (std::string suffix : {"#v1", "?tag=v1", "#refs/tags/v1"}) {
    auto rev = resolve(git_url(suffix));
    ASSERT_OK(rev);
    EXPECT_EQ(rev->commit, first_) << suffix;
    EXPECT_EQ(rev->ref, "refs/tags/v1") << suffix;
  }
  auto light = resolve(git_url("#light"));
  ASSERT_OK(light);
  EXPECT_EQ(light->commit, first_);
}

TEST_F(AddGit, PrefersTheBranchWhenABranchAndATagShareAName) {
  auto rev = resolve(git_url("#same"));
  ASSERT_OK(rev);
  EXPECT_EQ(rev->commit, dev_);
  EXPECT_EQ(rev->ref, "refs/heads/same");
  auto tag = resolve(git_url("?tag=same"));
  ASSERT_OK(tag);
  EXPECT_EQ(tag->commit, first_);
}

TEST_F(AddGit, TakesACommitNameAsItIs) {
  auto rev = resolve(git_url("#" + first_));
  ASSERT_OK(rev);
  EXPECT_EQ(rev->commit, first_);
  EXPECT_EQ(rev->ref, "");
  // Without asking the remote: port 9 (discard) is not listening.
  auto offline = resolve("http://127.0.0.1:9/x.git#" + first_);
  ASSERT_OK(offline);
  EXPECT_EQ(offline->commit, first_);
}

TEST_F(AddGit, AMissingRefIsNotFoundNamingTheSource) {
  auto rev = resolve(git_url("#nope"));
  ASSERT_FALSE(rev);
  EXPECT_EQ(rev.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(rev.error().message(),
            "ADD " + git_url("#nope") + ": no ref \"nope\" in the repository");
}

TEST_F(AddGit, AnUnreachableRemoteGivesGitsLastMessage) {
  std::string source = "http://127.0.0.1:" + std::to_string(unused_port()) + "/x.git#main";
  auto rev = resolve(source);
  ASSERT_FALSE(rev);
  EXPECT_EQ(rev.error().kind(), ErrorKind::kIo);
  std::string prefix = "ADD " + source + ": git ls-remote failed: ";
  EXPECT_TRUE(rev.error().message().starts_with(prefix)) << rev.error().message();
  EXPECT_GT(rev.error().message().size(), prefix.size());
  // A repository the server does not have, likewise.
  auto missing = resolve("git://127.0.0.1:" + std::to_string(git_port_) + "/none.git#main");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find(": git ls-remote failed: "), std::string::npos);
}

TEST_F(AddGit, TheChecksumIsAPrefixOfTheCommitOrOfTheTagObject) {
  ASSERT_OK(resolve(git_url("?tag=v1&checksum=" + first_.substr(0, 7))));
  size_t n = 1;  // a prefix of the tag object's name that is not one of the commit's
  while (first_.starts_with(v1_object_.substr(0, n))) ++n;
  ASSERT_OK(resolve(git_url("?tag=v1&checksum=" + v1_object_.substr(0, n))));
  ASSERT_OK(resolve(git_url("?commit=" + first_)));
  auto wrong = resolve(git_url("?tag=v1&checksum=" + main_.substr(0, 12)));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(wrong.error().message().find("expected checksum to match " + main_.substr(0, 12) +
                                         ", got " + first_ + " or " + v1_object_),
            std::string::npos)
      << wrong.error().message();
  auto by_flag = parse_git_source(git_url("#dev"));
  ASSERT_OK(by_flag);
  ASSERT_OK(apply_add_flags(*by_flag, main_.substr(0, 8), false));
  EXPECT_FALSE(resolve_git_revision(*by_flag));
}

TEST_F(AddGit, FetchAddsTheFilesWithoutAnyGitDirectory) {
  mode_t old = ::umask(077);  // modes must not depend on bonsai's umask
  auto co = fetch(git_url("#main"));
  ::umask(old);
  ASSERT_OK(co);
  const std::string& root = co->root;
  EXPECT_EQ(read_text(root + "/README"), "two\n");
  EXPECT_EQ(read_text(root + "/docs/inner/x.txt"), "x\n");
  EXPECT_EQ(read_text(root + "/mod/s.txt"), "sub\n");  // the submodule, checked out
  EXPECT_FALSE(fs::exists(root + "/dev.txt"));
  EXPECT_EQ(mode_of(root + "/tools/run.sh"), 0755u);
  EXPECT_EQ(mode_of(root + "/README"), 0644u);
  EXPECT_EQ(mode_of(root + "/.gitmodules"), 0644u);
  EXPECT_EQ(mode_of(root), 0755u);
  EXPECT_EQ(mode_of(root + "/docs/inner"), 0755u);
  EXPECT_EQ(mode_of(root + "/mod"), 0755u);
  EXPECT_TRUE(fs::is_symlink(root + "/link"));
  EXPECT_EQ(fs::read_symlink(root + "/link").string(), "README");
  EXPECT_EQ(fs::read_symlink(root + "/abs").string(),
            "/etc/passwd");  // kept; read confined by the caller
  EXPECT_EQ(fs::read_symlink(root + "/docs_link").string(), "docs");
  EXPECT_EQ(git_dirs_below(root), std::vector<std::string>{});
  EXPECT_TRUE(root.starts_with(dir_.path() + "/"));
}

TEST_F(AddGit, KeepGitDirKeepsARepositoryAtTheCommit) {
  auto co = fetch(git_url("#dev"), true);
  ASSERT_OK(co);
  const std::string& root = co->root;
  EXPECT_EQ(read_text(root + "/dev.txt"), "dev\n");
  ASSERT_TRUE(fs::is_directory(root + "/.git"));
  EXPECT_TRUE(fs::exists(root + "/mod/.git"));  // the submodule's pointer into .git/modules
  EXPECT_EQ(git(root, {"rev-parse", "HEAD"}), dev_);
  EXPECT_EQ(git(root, {"rev-parse", "refs/heads/dev"}), dev_);
  EXPECT_EQ(git(root, {"config", "remote.origin.url"}), git_url());
  EXPECT_EQ(git(root, {"status", "--porcelain"}), "");
  EXPECT_EQ(git(root + "/mod", {"rev-parse", "HEAD"}),
            git(srv_ + "/sub.git", {"rev-parse", "HEAD"}));
  EXPECT_FALSE(fs::exists(root + "/.git/FETCH_HEAD"));
}

TEST_F(AddGit, KeepGitDirFromTheQueryToo) {
  auto co = fetch(git_url("?ref=main&keep-git-dir=true"));
  ASSERT_OK(co);
  EXPECT_TRUE(fs::is_directory(co->root + "/.git"));
  EXPECT_EQ(git(co->root, {"rev-parse", "HEAD"}), main_);
}

TEST_F(AddGit, SubdirSelectsADirectoryAndDropsTheGitDir) {
  auto co = fetch(git_url("#main:docs"), true);  // BuildKit keeps .git only without a subdir
  ASSERT_OK(co);
  const std::string& root = co->root;
  EXPECT_EQ(read_text(root + "/guide.md"), "guide\n");
  EXPECT_EQ(read_text(root + "/inner/x.txt"), "x\n");
  EXPECT_EQ(fs::read_symlink(root + "/up").string(), "../README");
  EXPECT_FALSE(fs::exists(root + "/README"));
  EXPECT_FALSE(fs::exists(root + "/.git"));
  auto nested = fetch(git_url("?ref=main&subdir=docs/inner"));
  ASSERT_OK(nested);
  EXPECT_EQ(read_text(nested->root + "/x.txt"), "x\n");
}

TEST_F(AddGit, ASubdirThroughASymlinkIsRefused) {
  auto co = fetch(git_url("#main:docs_link"));
  ASSERT_FALSE(co);
  EXPECT_EQ(co.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(co.error().message().find("docs_link is a symlink, not a directory"), std::string::npos)
      << co.error().message();
  EXPECT_TRUE(fs::is_empty(dir_.path()));  // nothing left behind
}

TEST_F(AddGit, AMissingSubdirIsNotFound) {
  auto co = fetch(git_url("#main:nowhere/x"));
  ASSERT_FALSE(co);
  EXPECT_EQ(co.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(co.error().message(), "ADD " + git_url("#main:nowhere/x") +
                                      ": subdir \"nowhere/x\": no nowhere in the repository");
  auto file = fetch(git_url("#main:README"));
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message().find("README is a regular file"), std::string::npos);
}

TEST_F(AddGit, SubmodulesFalseLeavesTheSubmoduleEmpty) {
  auto co = fetch(git_url("?ref=main&submodules=false"));
  ASSERT_OK(co);
  EXPECT_TRUE(fs::is_directory(co->root + "/mod"));
  EXPECT_TRUE(fs::is_empty(co->root + "/mod"));
  EXPECT_EQ(read_text(co->root + "/README"), "two\n");
}

TEST_F(AddGit, FetchesACommitByName) {
  auto co = fetch(git_url("#" + first_));
  ASSERT_OK(co);
  EXPECT_EQ(read_text(co->root + "/README"), "one\n");
  EXPECT_FALSE(fs::exists(co->root + "/docs"));
}

TEST_F(AddGit, FetchesOverDumbHttpWithSubmodules) {
  std::string url = http_->url("/repo.git");
  auto tag = fetch(url + "#v1");
  ASSERT_OK(tag);
  EXPECT_EQ(read_text(tag->root + "/README"), "one\n");
  auto head = fetch(url);  // the submodule's relative URL resolves to <server>/sub.git
  ASSERT_OK(head);
  EXPECT_EQ(read_text(head->root + "/README"), "two\n");
  EXPECT_EQ(read_text(head->root + "/mod/s.txt"), "sub\n");
  EXPECT_EQ(mode_of(head->root + "/tools/run.sh"), 0755u);
  EXPECT_EQ(git_dirs_below(head->root), std::vector<std::string>{});
}

}  // namespace
}  // namespace bonsai::build
