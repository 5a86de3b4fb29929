// The hostile-layer corpus (tests/data/hostile/make_corpus.py) applied with the real RootFs.
//
// Each case unpacks one tar into <tmp>/l1/l2/root, which already holds a small lower layer.
// Around the root sit sentinels at every level (<tmp>/outside/secret, <tmp>/l1/outside/secret,
// <tmp>/l1/l2/outside/secret, ...), so that "../outside", "../../outside" and so on all exist on
// the host. Every case must end in either a clear error or a write confined to the root: the
// whole of <tmp> outside the root is snapshotted (type, mode, owner, size, mtime, links,
// contents) before and after and must not change, the root must still be a directory, and a
// few host paths a successful escape would create must not appear.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "archive/compress.h"
#include "archive/layer_apply.h"
#include "archive/mem_tree_fs_test_util.h"
#include "sys/fd.h"
#include "sys/root_fs.h"
#include "util/sha256.h"

namespace bonsai::archive {
namespace {

namespace fs = std::filesystem;
using util::ErrorKind;

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

std::optional<struct stat> host_lstat(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

// One line describing everything about a path that an escape could change.
std::string describe(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return "gone";
  std::ostringstream out;
  out << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " size "
      << st.st_size << " links " << st.st_nlink << " mtime " << st.st_mtim.tv_sec << "."
      << st.st_mtim.tv_nsec;
  if (S_ISLNK(st.st_mode)) out << " -> " << fs::read_symlink(p).string();
  if (S_ISREG(st.st_mode)) out << " '" << slurp(p) << "'";
  return out.str();
}

// Everything under base except the subtree at skip (whose own entry is kept, minus mtime).
std::map<std::string, std::string> snapshot(const std::string& base, const std::string& skip) {
  std::map<std::string, std::string> out;
  out[base] = describe(base);
  for (auto it = fs::recursive_directory_iterator(base); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->path() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    out[it->path().string()] = describe(it->path());
  }
  return out;
}

std::string diff(const std::map<std::string, std::string>& before,
                 const std::map<std::string, std::string>& after) {
  std::string out;
  for (const auto& [path, what] : before) {
    auto it = after.find(path);
    if (it == after.end())
      out += "removed " + path + "\n";
    else if (it->second != what)
      out += "changed " + path + ": " + what + " => " + it->second + "\n";
  }
  for (const auto& [path, what] : after)
    if (!before.contains(path)) out += "added " + path + ": " + what + "\n";
  return out;
}

// Host paths a successful escape from any case would create or change.
const char* const kHostCanaries[] = {"/escape", "/pwned", "/abs",    "/new",
                                     "/after",  "/x",     "/stolen", "/c"};

struct Expectation {
  std::optional<ErrorKind> error;  // nullopt: must succeed
  std::string message;             // part of the error message, when an error is expected
  std::function<void(const std::string& root)> check;  // the root afterwards
};

std::string read_in(const std::string& root, const std::string& path) {
  return slurp(root + "/" + path);
}

void expect_type(const std::string& root, const std::string& path, mode_t type) {
  auto st = host_lstat(root + "/" + path);
  ASSERT_TRUE(st) << path << " is missing";
  EXPECT_EQ(st->st_mode & S_IFMT, type) << path;
}

void expect_absent(const std::string& root, const std::string& path) {
  EXPECT_FALSE(host_lstat(root + "/" + path)) << path << " should not exist";
}

void expect_same_inode(const std::string& root, const std::string& a, const std::string& b) {
  auto sa = host_lstat(root + "/" + a), sb = host_lstat(root + "/" + b);
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->st_ino, sb->st_ino) << a << " and " << b;
  EXPECT_GE(sa->st_nlink, 2u);
}

void lower_intact(const std::string& root) {
  EXPECT_EQ(read_in(root, "etc/passwd"), "lower");
  EXPECT_EQ(read_in(root, "lower/keep"), "keep");
  EXPECT_EQ(read_in(root, "lower/sub/f"), "f");
}

std::map<std::string, Expectation> expectations() {
  const auto ok = [](std::function<void(const std::string&)> check) {
    return Expectation{std::nullopt, "", std::move(check)};
  };
  const auto err = [](ErrorKind kind, std::string message,
                      std::function<void(const std::string&)> check = lower_intact) {
    return Expectation{kind, std::move(message), std::move(check)};
  };
  const std::string deep = [] {
    std::string p = "d";
    for (int i = 1; i < 1000; ++i) p += "/d";
    return p;
  }();
  const std::string long_path = [] {
    std::string p = "long";
    for (char c = 'a'; c <= 'o'; ++c) p += "/" + std::string(250, c);
    return p;
  }();

  std::map<std::string, Expectation> e;
  e["symlink_root_then_write"] = ok([](auto& r) { EXPECT_EQ(read_in(r, "escape"), "root"); });
  e["symlink_dotdot_then_write"] = ok([](auto& r) { EXPECT_EQ(read_in(r, "escape"), "dotdot"); });
  e["symlink_sibling_then_write"] =
      err(ErrorKind::kNotFound, "layer entry 1 (a/pwned): create ", [](auto& r) {
        lower_intact(r);
        expect_absent(r, "outside");
      });
  e["symlink_chain_then_write"] = ok([](auto& r) { EXPECT_EQ(read_in(r, "c/escape"), "chain"); });
  e["symlink_dir_then_hardlink"] = ok([](auto& r) {
    expect_same_inode(r, "stolen", "etc/passwd");
    EXPECT_EQ(read_in(r, "stolen"), "fake");
  });
  e["hardlink_through_sibling_symlink"] =
      err(ErrorKind::kNotFound, "hard link target h/secret does not exist");
  e["hardlink_dotdot_target"] = err(ErrorKind::kCorrupt, "escapes the root");
  e["hardlink_absolute_target"] = ok([](auto& r) {
    expect_same_inode(r, "etc/passwd-", "etc/passwd");
    EXPECT_EQ(read_in(r, "etc/passwd-"), "root:x:0:0");
  });
  e["dotdot_prefix"] = err(ErrorKind::kCorrupt, "layer entry 0 (../escape): path");
  e["dotdot_middle_escape"] = err(ErrorKind::kCorrupt, "escapes the root");
  e["dotdot_inside"] = ok([](auto& r) {
    EXPECT_EQ(read_in(r, "b"), "inside");
    expect_absent(r, "a");
  });
  e["dotdot_to_root"] = err(ErrorKind::kCorrupt, "resolves to the layer root");
  e["pax_long_dotdot"] = err(ErrorKind::kCorrupt, "escapes the root");
  e["absolute_member_name"] = ok([](auto& r) { EXPECT_EQ(read_in(r, "abs/file"), "abs"); });
  e["opaque_root"] = ok([](auto& r) {
    EXPECT_EQ(read_in(r, "new"), "n");
    expect_absent(r, "etc");
    expect_absent(r, "lower");
  });
  e["opaque_levels"] = ok([](auto& r) {
    EXPECT_EQ(read_in(r, "lower/sub/mine"), "m");
    expect_absent(r, "lower/keep");
    expect_absent(r, "lower/sub/f");
    EXPECT_EQ(read_in(r, "etc/passwd"), "lower");
  });
  e["opaque_through_symlink"] = ok([](auto& r) {
    expect_type(r, "lower", S_IFDIR);
    expect_absent(r, "lower/keep");
    expect_absent(r, "lower/sub");
    EXPECT_EQ(read_in(r, "etc/passwd"), "lower");
  });
  e["opaque_escape"] = err(ErrorKind::kCorrupt, "escapes the root");
  e["whiteout_dotdot"] = err(ErrorKind::kCorrupt, "whiteout of \"..\"", [](auto& r) {
    lower_intact(r);
    expect_absent(r, "x");
  });
  e["whiteout_dotdot_nested"] = err(ErrorKind::kCorrupt, "whiteout of \"..\"");
  e["whiteout_dot"] = err(ErrorKind::kCorrupt, "whiteout of \".\"");
  e["whiteout_through_symlink"] = ok([](auto& r) {
    expect_absent(r, "lower/keep");
    EXPECT_EQ(read_in(r, "lower/sub/f"), "f");
  });
  e["whiteout_reserved_meta"] = err(ErrorKind::kCorrupt, "reserved whiteout name");
  e["whiteout_as_directory"] = err(ErrorKind::kCorrupt, "used as a directory");
  e["duplicate_paths"] = ok([](auto& r) {
    expect_type(r, "x", S_IFLNK);
    EXPECT_EQ(read_in(r, "after"), "after");
    expect_absent(r, "inner");
  });
  e["file_over_symlink"] = ok([](auto& r) {
    expect_type(r, "s", S_IFREG);
    EXPECT_EQ(read_in(r, "s"), "overwritten");
  });
  e["dir_over_symlink"] = ok([](auto& r) {
    auto st = host_lstat(r + "/s");
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISDIR(st->st_mode));
    EXPECT_EQ(st->st_mode & 07777, 0777u);
  });
  // The tar reader already refuses a root entry that is not a directory ("tar entry 0: ...");
  // LayerApplier's own check for other producers is in layer_apply_test.cc.
  e["root_symlink"] = err(ErrorKind::kCorrupt, "entry 0", [](auto& r) {
    lower_intact(r);
    expect_absent(r, "after");
  });
  e["dot_slash_entry"] = ok([](auto& r) {
    EXPECT_EQ(read_in(r, "etc/hosts"), "127.0.0.1 localhost");
    lower_intact(r);
  });
  e["deep_nesting"] = ok([deep](auto& r) { EXPECT_EQ(read_in(r, deep + "/f"), "deep"); });
  e["long_path"] = ok([long_path](auto& r) { EXPECT_EQ(read_in(r, long_path + "/f"), "long"); });
  e["long_component"] = err(ErrorKind::kIo, "File name too long");
  e["device_nodes"] = ok([](auto& r) {
    auto null = host_lstat(r + "/dev/null");
    ASSERT_TRUE(null);
    EXPECT_TRUE(S_ISCHR(null->st_mode));
    EXPECT_EQ(null->st_rdev, makedev(1, 3));
    expect_type(r, "dev/sda", S_IFBLK);
    expect_type(r, "dev/fifo", S_IFIFO);
  });
  e["setuid_owners_caps"] = ok([](auto& r) {
    auto su = host_lstat(r + "/usr/bin/su");
    ASSERT_TRUE(su);
    EXPECT_EQ(su->st_mode & 07777, 04755u);
    auto home = host_lstat(r + "/home");
    ASSERT_TRUE(home);
    EXPECT_EQ(home->st_uid, 1000u);
    EXPECT_EQ(home->st_mode & 07777, 0600u);
    EXPECT_EQ(::lgetxattr((r + "/usr/bin/ping").c_str(), "security.capability", nullptr, 0), 20);
  });
  e["bomb_ratio"] = err(ErrorKind::kLimit, "compression ratio exceeds");
  e["bomb_pax_header"] = err(ErrorKind::kLimit, "exceeds 1048576 bytes");
  e["bomb_gnu_long_name"] = err(ErrorKind::kLimit, "exceeds 65536 bytes");
  return e;
}

// The corpus of the current make_corpus.py, generated on first use and cached in the temp dir
// under the script's hash: ctest runs each test in its own process, and they share it. Empty if
// generation failed (tests then fail with the command in the log).
const std::string& corpus_dir() {
  static const std::string dir = []() -> std::string {
    const std::string script = BONSAI_SOURCE_DIR "/tests/data/hostile/make_corpus.py";
    auto text = sys::read_file(script);
    if (!text) return "";
    std::string dir = (fs::temp_directory_path() /
                       ("bonsai-hostile-corpus-" + util::Sha256::hex_of(*text).substr(0, 16)))
                          .string();
    if (sys::exists(dir)) return dir;
    std::string tmpl_str = dir + ".tmp-XXXXXX";
    if (::mkdtemp(tmpl_str.data()) == nullptr) return "";
    std::string cmd = "python3 " + script + " " + tmpl_str;
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << "failed: " << cmd;
      (void)sys::remove_all(tmpl_str);
      return "";
    }
    // Another test process may have won the race; its corpus is the same.
    if (::rename(tmpl_str.c_str(), dir.c_str()) != 0) (void)sys::remove_all(tmpl_str);
    return dir;
  }();
  return dir;
}

class HostileLayer : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bonsai-hostile-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/l1/l2/root";
    for (std::string dir : {base_, base_ + "/l1", base_ + "/l1/l2"}) {
      ASSERT_TRUE(sys::mkdir_p(dir + "/outside"));
      spit(dir + "/outside/secret", "secret");
      spit(dir + "/sentinel", "sentinel");
    }
    make_root();
  }
  void TearDown() override { ASSERT_TRUE(sys::remove_all(base_)); }

  // The root with its lower layer: etc/passwd, lower/keep, lower/sub/f.
  void make_root() {
    for (std::string dir : {root_, root_ + "/etc", root_ + "/lower", root_ + "/lower/sub"})
      ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    spit(root_ + "/etc/passwd", "lower");
    spit(root_ + "/lower/keep", "keep");
    spit(root_ + "/lower/sub/f", "f");
  }

  // Reads <name>.tar or <name>.tar.gz as bonsai reads a layer blob: detected compression
  // under bomb limits (tightened here so the corpus stays small), then tar, then apply.
  Result<ApplyStats> apply_case(const std::string& name) {
    EXPECT_FALSE(corpus_dir().empty());
    std::string path = corpus_dir() + "/" + name + ".tar";
    if (!sys::exists(path)) path += ".gz";
    sys::UniqueFd fd = TRY(sys::open_file(path, O_RDONLY));
    sys::FdReader file(fd.get(), path);
    DecompressLimits limits;
    limits.max_ratio = 100;
    limits.ratio_min_output = 1 << 20;
    auto layer = TRY(AutoDecompressReader::open(file, limits));
    TarReader tar(*layer);
    auto tree = TRY(sys::RootFs::open(root_));
    return apply_layer(tar, *tree);
  }

  std::string base_, root_;
};

TEST_P(HostileLayer, IsRejectedOrConfinedToTheRoot) {
  const std::string& name = GetParam();
  auto all = expectations();
  ASSERT_TRUE(all.contains(name));
  const Expectation& expect = all.at(name);
  auto before = snapshot(base_, root_);
  auto passwd_before = describe("/etc/passwd");

  auto stats = apply_case(name);

  EXPECT_EQ(diff(before, snapshot(base_, root_)), "") << "the layer changed files outside root";
  EXPECT_EQ(describe("/etc/passwd"), passwd_before);
  for (const char* canary : kHostCanaries) EXPECT_FALSE(host_lstat(canary)) << canary;
  auto root_st = host_lstat(root_);
  ASSERT_TRUE(root_st);
  EXPECT_TRUE(S_ISDIR(root_st->st_mode)) << "the root was replaced";

  if (expect.error) {
    ASSERT_FALSE(stats) << name << " applied without error";
    EXPECT_EQ(stats.error().kind(), *expect.error) << stats.error().message();
    EXPECT_NE(stats.error().message().find(expect.message), std::string::npos)
        << stats.error().message();
    EXPECT_NE(stats.error().message().find("entry "), std::string::npos)
        << "names the entry: " << stats.error().message();
  } else {
    ASSERT_TRUE(stats) << stats.error().message();
  }
  expect.check(root_);
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& [name, _] : expectations()) names.push_back(name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Corpus, HostileLayer, ::testing::ValuesIn(case_names()),
                         [](const auto& info) { return info.param; });

// The corpus and the expectations above must list the same cases.
TEST(HostileCorpus, EveryCaseHasAnExpectation) {
  ASSERT_FALSE(corpus_dir().empty());
  std::set<std::string> tars;
  for (const auto& entry : fs::directory_iterator(corpus_dir()))
    tars.insert(
        entry.path().filename().string().substr(0, entry.path().filename().string().find('.')));
  std::set<std::string> expected;
  for (const auto& name : case_names()) expected.insert(name);
  EXPECT_EQ(tars, expected);
}

// --- Random orders ----------------------------------------------------------------------
//
// "Whatever order the entries come in": random sequences drawn from hostile building blocks
// (symlinks to "/", "..", the host sibling; hard links through them; whiteouts; opaque markers;
// the same few paths over and over) are applied to a real root and to MemTreeFs. Nothing outside
// the root may change, and the two trees must end up identical, which also keeps the fake
// honest.

// The tree under dir in MemTreeFs::dump() format.
void dump_host(const std::string& dir, const std::string& prefix, std::string& out) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string path = prefix.empty() ? name : prefix + "/" + name;
    std::string host = dir + "/" + name;
    struct stat st;
    ASSERT_EQ(::lstat(host.c_str(), &st), 0);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    const char* kind = S_ISDIR(st.st_mode)   ? "dir"
                       : S_ISLNK(st.st_mode) ? "symlink"
                       : S_ISREG(st.st_mode) ? "file"
                       : S_ISCHR(st.st_mode) ? "chr"
                       : S_ISBLK(st.st_mode) ? "blk"
                                             : "fifo";
    out += path + " " + kind + " " + mode + " " + std::to_string(st.st_uid) + ":" +
           std::to_string(st.st_gid);
    if (S_ISLNK(st.st_mode)) out += " -> " + fs::read_symlink(host).string();
    if (S_ISREG(st.st_mode)) out += " '" + slurp(host) + "'";
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) out += " links=" + std::to_string(st.st_nlink);
    out += "\n";
    if (S_ISDIR(st.st_mode)) dump_host(host, path, out);
  }
}

std::string kind_of(EntryType type) {
  switch (type) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDirectory:
      return "dir";
    case EntryType::kSymlink:
      return "symlink ->";
    case EntryType::kHardLink:
      return "hardlink ->";
    default:
      return "node";
  }
}

TarEntry random_entry(std::mt19937& rng) {
  auto pick = [&rng](std::initializer_list<const char*> from) {
    return std::string(
        from.begin()[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)]);
  };
  TarEntry e;
  e.mtime_sec = 1;
  std::string path = pick({"a", "b", "a/b", "a/c", "b/c", "lower", "lower/keep", "lower/sub"});
  switch (std::uniform_int_distribution<int>(0, 6)(rng)) {
    case 0:
      e.path = path;
      e.size = 4;  // body "data"
      break;
    case 1:
      e.path = path;
      e.type = EntryType::kDirectory;
      e.mode = 0755;
      break;
    case 2:
      e.path = path;
      e.type = EntryType::kSymlink;
      e.mode = 0777;
      e.link_target = pick({"/", "../../..", "../outside", "a", "/lower", "b/../..", "."});
      break;
    case 3:
      e.path = path;
      e.type = EntryType::kHardLink;
      e.link_target = pick({"a", "lower/keep", "/lower/sub/f", "a/b/keep", "b/c", "etc/passwd",
                            "a/secret", "../outside/secret"});
      break;
    case 4: {
      size_t slash = path.rfind('/');
      e.path = slash == std::string::npos
                   ? ".wh." + path
                   : path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1);
      break;
    }
    case 5:
      e.path = path + "/.wh..wh..opq";
      break;
    case 6:
      e.path = path + "/" + pick({"keep", "f", "new"});
      e.size = 4;
      break;
  }
  return e;
}

Status finish(LayerApplier& applier) {
  auto stats = applier.finish();
  if (!stats) return std::unexpected(std::move(stats).error());
  return {};
}

class RandomOrders : public HostileLayer {};

TEST_F(RandomOrders, StayInsideTheRootAndMatchTheFake) {
  std::mt19937 rng(20240611);
  int failures = 0;
  for (int round = 0; round < 200 && failures < 3; ++round) {
    std::vector<TarEntry> entries;
    std::string listing;
    for (int i = 0; i < 8; ++i) {
      entries.push_back(random_entry(rng));
      const TarEntry& e = entries.back();
      listing += "  " + e.path + " " + kind_of(e.type) + " " + e.link_target + "\n";
    }
    SCOPED_TRACE("round " + std::to_string(round) + ":\n" + listing);

    // A fresh root with the lower layer, on disk and in memory.
    ASSERT_TRUE(sys::remove_all(root_));
    make_root();
    auto before = snapshot(base_, root_);
    testing::MemTreeFs mem;
    for (const char* dir : {"etc", "lower", "lower/sub"}) ASSERT_TRUE(mem.mkdir(dir, 0755));
    for (auto [path, data] : {std::pair{"etc/passwd", "lower"}, std::pair{"lower/keep", "keep"},
                              std::pair{"lower/sub/f", "f"}}) {
      auto w = mem.create_file(path, 0644);
      ASSERT_TRUE(w && (*w)->write(data));
    }
    auto disk = sys::RootFs::open(root_);
    ASSERT_TRUE(disk);

    LayerApplier on_disk(**disk), in_memory(mem);
    Status disk_status, mem_status;
    for (const TarEntry& e : entries) {
      util::StringReader body1("data"), body2("data");
      if (disk_status) disk_status = on_disk.apply(e, body1);
      if (mem_status) mem_status = in_memory.apply(e, body2);
    }
    if (disk_status) disk_status = finish(on_disk);
    if (mem_status) mem_status = finish(in_memory);

    EXPECT_EQ(diff(before, snapshot(base_, root_)), "");
    EXPECT_EQ(bool(disk_status), bool(mem_status))
        << "disk: " << (disk_status ? "ok" : disk_status.error().message())
        << "\nmemory: " << (mem_status ? "ok" : mem_status.error().message());
    std::string on_host;
    dump_host(root_, "", on_host);
    EXPECT_EQ(on_host, mem.dump());
    if (::testing::Test::HasFailure()) ++failures;
  }
}

}  // namespace
}  // namespace bonsai::archive
